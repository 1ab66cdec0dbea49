"""Field conversion at the edge: Polymarket's decimal strings and epoch times to our units.

Every helper raises :class:`~horizon_flow_core.errors.FrameError` naming the
field, so a bad frame becomes a one-line reject instead of a traceback.
"""

from __future__ import annotations

from typing import Any

from horizon_flow_core.errors import FrameError, preview
from horizon_flow_core.event_checks import MAX_TS

_SIDES = {"BUY": "buy", "SELL": "sell", "buy": "buy", "sell": "sell", "Buy": "buy",
          "Sell": "sell"}

_INF = float("inf")
#: Epoch times outside [2001-01-01, 2200-01-01] are rejected: the unit is read from the
#: magnitude (see :func:`epoch_to_ns`), and the upper bound (the core's ``MAX_TS``, which
#: ``check_event`` enforces) keeps ``ts`` well under 2**63.
TS_MIN_NS = 978_307_200 * 1_000_000_000
TS_MAX_NS = MAX_TS
TS_MIN_S = TS_MIN_NS // 1_000_000_000
TS_MAX_S = TS_MAX_NS // 1_000_000_000
#: Integers orjson (and so the feed writer) can encode.
INT_MIN = -(2**63)
INT_END = 2**64


def req(d: dict[str, Any], name: str) -> Any:
    """The value of a field that must be present (and not null)."""
    value = d.get(name)
    if value is None:
        raise FrameError("missing", field=name)
    return value


def num(d: dict[str, Any], name: str, *, required: bool = True,
        signed: bool = False) -> float | None:
    """A price or size: Polymarket sends decimal strings (sometimes numbers).

    Finite and non-negative (``signed`` allows negatives: fee rates, a spread).
    Prices above 1 are not rejected here: the venue's own quotes never exceed 1,
    and a bound belongs to the detectors, not to the decoding of the wire.
    """
    value = d.get(name)
    if value is None or value == "":
        if required:
            raise FrameError("missing", field=name)
        return None
    t = type(value)
    if t is str:
        try:
            out = float(value)
        except ValueError:
            raise FrameError(f"not a decimal number: {preview(value)}", field=name) from None
    elif t is float:
        out = value
    elif t is int:
        try:
            out = float(value)
        except OverflowError:
            raise FrameError(f"number out of range: {preview(value)}", field=name) from None
    else:
        raise FrameError(f"expected a decimal string, got {t.__name__}", field=name)
    if 0.0 <= out < _INF:  # NaN fails every comparison
        return out
    if out != out or out in (_INF, -_INF):
        raise FrameError(f"not a finite number: {preview(value)}", field=name)
    if signed:
        return out
    raise FrameError(f"negative: {preview(value)}", field=name)


def side(d: dict[str, Any], name: str = "side", *, required: bool = True) -> str | None:
    value = d.get(name)
    if value is None:
        if required:
            raise FrameError("missing", field=name)
        return None
    out = _SIDES.get(value) if type(value) is str else None
    if out is None:
        raise FrameError(f"expected BUY or SELL, got {preview(value)}", field=name)
    return out


def opposite(s: str) -> str:
    return "sell" if s == "buy" else "buy"


def epoch_to_ns(value: Any, field: str) -> int:
    """An epoch time in seconds, milliseconds, microseconds or nanoseconds, to nanoseconds.

    Polymarket mixes units (``timestamp`` is ms, ``created_at`` and
    ``match_time`` are seconds, some edited captures carry seconds in
    ``timestamp``), so the unit is read from the magnitude: a 2001-2286 date
    has 10 digits in seconds, 13 in ms, 16 in us and 19 in ns. Times before
    2001 or from 2200 on (:data:`TS_MIN_NS`, :data:`TS_MAX_NS`) are rejected.
    """
    t = type(value)
    if t is str:
        text = value.strip()
        try:
            number = int(text) if text.isdigit() else float(text)
        except ValueError:
            raise FrameError(f"not an epoch time: {preview(value)}", field=field) from None
    elif t is int or t is float:
        number = value
    else:
        raise FrameError(f"expected an epoch time, got {t.__name__}", field=field)
    if not 0 < number < 1e19:  # also NaN and infinities, before any conversion
        raise FrameError(f"not an epoch time: {preview(value)}", field=field)
    if number < 1e11:
        scale = 1_000_000_000
    elif number < 1e14:
        scale = 1_000_000
    elif number < 1e17:
        scale = 1_000
    else:
        scale = 1
    # Fractional seconds (Data API ISO-less floats): round to the nanosecond.
    ns = number * scale if type(number) is int else int(round(number * scale))
    if TS_MIN_NS <= ns <= TS_MAX_NS:
        return ns
    raise FrameError(f"epoch time outside 2001-2200: {preview(value)}", field=field)


def seconds_to_ns(seconds: Any, field: str) -> int:
    """Whole epoch seconds (a block time) to nanoseconds, within the same bounds."""
    if type(seconds) is int and TS_MIN_S <= seconds <= TS_MAX_S:
        return seconds * 1_000_000_000
    raise FrameError(f"block time outside 2001-2200: {preview(seconds)}", field=field)


def frame_ts(d: dict[str, Any], recv_ts: int | None, *names: str) -> int:
    """Time of a frame from the first present field of ``names``, else the receive time."""
    for name in names:
        value = d.get(name)
        if value not in (None, "", 0, "0"):
            return epoch_to_ns(value, name)
    if recv_ts is not None:
        return recv_ts
    raise FrameError("missing and no receive time to fall back on", field=names[0])


def int_text(value: int, field: str) -> str:
    """A JSON integer id as its decimal string. Ids on Polymarket are at most 256 bits
    (token ids); anything longer is refused (``str`` of an int of more than 4,300
    digits raises ValueError, not a FrameError)."""
    if value.bit_length() > 256:
        raise FrameError(f"integer id of {value.bit_length()} bits, over 256", field=field)
    return str(value)


def text(d: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """An id or other string field; a JSON integer is taken as its decimal string."""
    value = d.get(name)
    if value is None or value == "":
        if required:
            raise FrameError("missing", field=name)
        return None
    if type(value) is str:
        return value
    if type(value) is int:
        return int_text(value, name)
    raise FrameError(f"expected a string, got {type(value).__name__}", field=name)


def tx_hash(d: dict[str, Any], *names: str) -> str | None:
    """The transaction hash (lower case) from the first non-empty of ``names``, else None."""
    for name in names:
        value = d.get(name)
        if value:
            if type(value) is not str:
                raise FrameError(f"expected a hex string, got {type(value).__name__}",
                                 field=name)
            return value.lower()
    return None


def scalar(d: dict[str, Any], name: str) -> str | int | float | bool | None:
    """A descriptive field copied into ``extra`` as is: a JSON scalar the feed writer can
    encode (no containers, no int beyond 64 bits, no NaN), or None when absent or empty."""
    value = d.get(name)
    if value is None or value == "":
        return None
    t = type(value)
    if (t is str or t is bool or (t is int and INT_MIN <= value < INT_END)
            or (t is float and value - value == 0.0)):
        return value
    raise FrameError(f"expected a string or number, got {preview(value)}", field=name)
