"""Exact parsing of Kalshi's numbers and times.

Kalshi moved from integer cents and integer contract counts to decimal
strings (``*_dollars``: up to 4 dp, ``*_fp``: 2 dp) in 2026; recordings carry
either or both. Everything is parsed into :class:`~decimal.Decimal` first so
that arithmetic on prices (``1 - no_price``) and on sizes (signed deltas
summed into a level) is exact, and only the final value becomes a float.

Times: ``ts`` is epoch seconds, ``ts_ms`` epoch milliseconds, and some
fields are RFC 3339 strings; all become integer nanoseconds in
``(0, MAX_TS_NS]`` (after 1970, up to 2200: far inside a signed 64-bit integer).

Every value is bounded where it is parsed, so what comes out always fits an
event: numbers have a magnitude below ``10**30`` (finite as floats, and so are
sums of them), integers kept as ids or sequence numbers fit 64 bits, and error
messages show a value through :func:`preview`, which neither recurses into
nested lists nor prints integers of thousands of digits.
"""

from __future__ import annotations

import calendar
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from horizon_flow_core.errors import FrameError, preview
from horizon_flow_core.event_checks import MAX_TS

ONE: Final = Decimal(1)
ZERO: Final = Decimal(0)
_HUNDRED: Final = Decimal(100)
_NS_PER_S: Final = 1_000_000_000
_NS_PER_MS: Final = 1_000_000

#: the latest time accepted anywhere: 2200-01-01T00:00:00Z in ns (2**63 is in 2262)
MAX_TS_NS: Final = MAX_TS  # the core's bound on event times (2200-01-01)
#: numbers are refused from 10**30 on (``Decimal.adjusted`` is the exponent of the
#: leading digit): far beyond any price, count or volume, and float() of them is finite
_MAX_ADJUSTED: Final = 29
#: the largest sequence number, subscription id or subaccount: ``n + 1`` still fits int64
MAX_INT: Final = 2**63 - 2
_MAX_EPOCH_DIGITS: Final = len(str(MAX_TS_NS))


def _bad(field: str, reason: str) -> FrameError:
    return FrameError(reason, field=field)


def is_ascii_digits(s: str) -> bool:
    """Whether ``int(s)`` reads ``s`` as digits only (no sign, no spaces, no underscores).

    ``str.isdigit`` alone is not enough: it is true for ``"²"``, which ``int`` refuses.
    """
    return s.isascii() and s.isdigit()


def bounded_int(value: Any, field: str, what: str = "an integer") -> int:
    """A non-negative JSON integer up to :data:`MAX_INT` (booleans refused)."""
    if type(value) is not int or not 0 <= value <= MAX_INT:
        raise _bad(field, f"expected {what} in [0, 2**63-2], got {preview(value)}")
    return value


def id_string(value: Any, field: str) -> str:
    """An identifier: a string, or (legacy) a 64-bit integer, as a string."""
    if type(value) is str:
        return value
    if type(value) is int and value.bit_length() <= 64:
        return str(value)
    raise _bad(field, f"expected a string id, got {preview(value)}")


def optional_str(msg: dict[str, Any], key: str) -> str | None:
    """``msg[key]`` when a string, None when absent or null; anything else is refused."""
    value = msg.get(key)
    if value is None or type(value) is str:
        return value
    raise _bad("msg." + key, f"expected a string, got {preview(value)}")


def to_decimal(value: Any, field: str) -> Decimal:
    """A JSON number or decimal string as an exact Decimal (booleans refused)."""
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise _bad(field, f"expected a decimal string, got {preview(value)}") from None
    elif type(value) is int:
        d = Decimal(value)
    elif type(value) is float:
        # repr is the shortest string that round-trips: 0.1 -> "0.1", not 0.1000000000000000055...
        d = Decimal(repr(value))
    else:
        raise _bad(field, f"expected a number or decimal string, got {type(value).__name__}")
    if not d.is_finite():
        raise _bad(field, f"expected a finite number, got {preview(value)}")
    if d.adjusted() > _MAX_ADJUSTED:
        raise _bad(field, f"number {preview(value)} is too large (10**30 or more)")
    return d


def dollars(value: Any, field: str) -> Decimal:
    """A ``*_dollars`` price: a probability in [0, 1]."""
    d = to_decimal(value, field)
    if d < ZERO or d > ONE:
        raise _bad(field, f"price {preview(value, 20)} is outside [0, 1] dollars")
    return d


def cents(value: Any, field: str) -> Decimal:
    """A legacy integer-cents price (0..100), returned in dollars."""
    d = to_decimal(value, field) / _HUNDRED
    if d < ZERO or d > ONE:
        raise _bad(field, f"price {preview(value, 20)} cents is outside [0, 100]")
    return d


def count(value: Any, field: str, *, signed: bool = False) -> Decimal:
    """A contract count: ``*_fp`` string or legacy integer; negative only when ``signed``."""
    d = to_decimal(value, field)
    if not signed and d < ZERO:
        raise _bad(field, f"negative contract count {preview(value, 20)}")
    return d


def price_from(msg: dict[str, Any], dollars_key: str, cents_key: str, prefix: str = "msg."
               ) -> Decimal | None:
    """The price under ``dollars_key`` (preferred) or legacy ``cents_key``; None when neither."""
    value = msg.get(dollars_key)
    if value is not None:
        return dollars(value, prefix + dollars_key)
    value = msg.get(cents_key)
    if value is not None:
        return cents(value, prefix + cents_key)
    return None


def count_from(msg: dict[str, Any], fp_key: str, legacy_key: str, prefix: str = "msg.",
               *, signed: bool = False) -> Decimal | None:
    """The count under ``fp_key`` (preferred) or legacy ``legacy_key``; None when neither."""
    value = msg.get(fp_key)
    if value is not None:
        return count(value, prefix + fp_key, signed=signed)
    value = msg.get(legacy_key)
    if value is not None:
        return count(value, prefix + legacy_key, signed=signed)
    return None


# --------------------------------------------------------------------------- time

_ISO: Final = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$", re.ASCII
)


def check_ns(ns: int, field: str) -> int:
    """``ns`` when it is a time in ``(1970, 2200]``; FrameError naming ``field`` otherwise."""
    if ns <= 0:
        raise _bad(field, "time is not after 1970-01-01")
    if ns > MAX_TS_NS:
        raise _bad(field, "time is after 2200-01-01")
    return ns


def iso_to_ns(value: Any, field: str) -> int:
    """RFC 3339 / ISO 8601 (``2025-08-12T21:00:32.5Z``) to epoch nanoseconds, exactly.

    A missing zone is taken as UTC (Kalshi's strings always carry ``Z``).
    Fractions beyond nanoseconds are truncated.
    """
    if not isinstance(value, str):
        raise _bad(field, f"expected an RFC 3339 time string, got {type(value).__name__}")
    m = _ISO.match(value.strip())
    if m is None:
        raise _bad(field, f"not an RFC 3339 time: {preview(value)}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not (1970 <= year <= 2200):
        raise _bad(field, f"year outside 1970..2200: {preview(value)}")
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]
            and hour <= 23 and minute <= 59 and second <= 60):
        raise _bad(field, f"not a valid time: {preview(value)}")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    frac = m.group(7) or ""
    ns = int(frac.ljust(9, "0")) if frac else 0
    zone = m.group(8)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise _bad(field, f"not a valid time zone: {preview(value)}")
        seconds -= sign * (hours * 3600 + minutes * 60)
    return check_ns(seconds * _NS_PER_S + ns, field)


def _epoch_int(value: Any, field: str, unit_ns: int) -> int:
    n: int | None = None
    if type(value) is int:
        n = value
    elif isinstance(value, str):
        s = value.strip()
        if is_ascii_digits(s):
            if len(s) > _MAX_EPOCH_DIGITS:  # out of range; int() of a huge one is slow
                raise _bad(field, "time is after 2200-01-01")
            n = int(s)
    elif type(value) is float and value.is_integer():
        n = int(value)
    if n is None:
        raise _bad(field, f"expected an integer epoch time, got {preview(value)}")
    return check_ns(n * unit_ns, field)


def frame_time_ns(msg: dict[str, Any], prefix: str = "msg.",
                  keys: tuple[str, ...] = ("ts_ms", "ts", "time", "created_time")) -> int | None:
    """The frame's own time in ns, from the first of ``keys`` present.

    ``*_ms`` keys are milliseconds; ``ts`` is seconds when an integer and
    RFC 3339 when a string (``orderbook_delta`` uses the string form);
    ``*_time``/``time`` keys are RFC 3339. Returns None when none is present.
    The time must be after 1970 and before 2200 (:func:`check_ns`).
    """
    for key in keys:
        value = msg.get(key)
        if value is None:
            continue
        field = prefix + key
        if key.endswith("_ms"):
            return _epoch_int(value, field, _NS_PER_MS)
        if isinstance(value, str) and not is_ascii_digits(value.strip()):
            return iso_to_ns(value, field)
        if key.endswith("time"):
            return iso_to_ns(value, field)
        return _epoch_int(value, field, _NS_PER_S)
    return None


def as_float(d: Decimal) -> float:
    """The one place a Decimal becomes a float (``float(Decimal("0.46")) == 0.46``).

    Finite for every Decimal the parsers above return (their magnitude is
    below 10**30); ``-0`` becomes ``0.0``.
    """
    return float(d) + 0.0
