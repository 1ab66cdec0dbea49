"""Field conversion at the edge: Polymarket's decimal strings and epoch times to our units.

Every helper raises :class:`~horizon_flow_core.errors.FrameError` naming the
field, so a bad frame becomes a one-line reject instead of a traceback.
"""

from __future__ import annotations

from typing import Any

from horizon_flow_core.errors import FrameError

_SIDES = {"BUY": "buy", "SELL": "sell", "buy": "buy", "sell": "sell", "Buy": "buy",
          "Sell": "sell"}


def req(d: dict[str, Any], name: str) -> Any:
    """The value of a field that must be present (and not null)."""
    value = d.get(name)
    if value is None:
        raise FrameError("missing", field=name)
    return value


def num(d: dict[str, Any], name: str, *, required: bool = True) -> float | None:
    """A price or size: Polymarket sends decimal strings (sometimes numbers)."""
    value = d.get(name)
    if value is None or value == "":
        if required:
            raise FrameError("missing", field=name)
        return None
    if type(value) is str:
        try:
            out = float(value)
        except ValueError:
            raise FrameError(f"not a decimal number: {value!r:.40}", field=name) from None
    elif type(value) in (int, float):
        out = float(value)
    else:
        raise FrameError(f"expected a decimal string, got {type(value).__name__}", field=name)
    if out != out or out in (float("inf"), float("-inf")):
        raise FrameError(f"not a finite number: {value!r:.40}", field=name)
    return out


def side(d: dict[str, Any], name: str = "side", *, required: bool = True) -> str | None:
    value = d.get(name)
    if value is None:
        if required:
            raise FrameError("missing", field=name)
        return None
    out = _SIDES.get(value) if type(value) is str else None
    if out is None:
        raise FrameError(f"expected BUY or SELL, got {value!r:.40}", field=name)
    return out


def opposite(s: str) -> str:
    return "sell" if s == "buy" else "buy"


def epoch_to_ns(value: Any, field: str) -> int:
    """An epoch time in seconds, milliseconds, microseconds or nanoseconds, to nanoseconds.

    Polymarket mixes units (``timestamp`` is ms, ``created_at`` and
    ``match_time`` are seconds, some edited captures carry seconds in
    ``timestamp``), so the unit is read from the magnitude: a 2001-2286 date
    has 10 digits in seconds, 13 in ms, 16 in us and 19 in ns.
    """
    if type(value) is str:
        text = value.strip()
        try:
            number = int(text) if text.isdigit() else float(text)
        except ValueError:
            raise FrameError(f"not an epoch time: {value!r:.40}", field=field) from None
    elif type(value) in (int, float):
        number = value
    else:
        raise FrameError(f"expected an epoch time, got {type(value).__name__}", field=field)
    if number < 0 or number != number:
        raise FrameError(f"not an epoch time: {value!r:.40}", field=field)
    if number < 1e11:
        scale = 1_000_000_000
    elif number < 1e14:
        scale = 1_000_000
    elif number < 1e17:
        scale = 1_000
    else:
        scale = 1
    if type(number) is int:
        return number * scale
    # Fractional seconds (Data API ISO-less floats): round to the nanosecond.
    return int(round(number * scale))


def frame_ts(d: dict[str, Any], recv_ts: int | None, *names: str) -> int:
    """Time of a frame from the first present field of ``names``, else the receive time."""
    for name in names:
        value = d.get(name)
        if value not in (None, "", 0, "0"):
            return epoch_to_ns(value, name)
    if recv_ts is not None:
        return recv_ts
    raise FrameError("missing and no receive time to fall back on", field=names[0])


def text(d: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = d.get(name)
    if value is None or value == "":
        if required:
            raise FrameError("missing", field=name)
        return None
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    raise FrameError(f"expected a string, got {type(value).__name__}", field=name)
