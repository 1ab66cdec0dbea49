"""Exact parsing of Kalshi's numbers and times.

Kalshi moved from integer cents and integer contract counts to decimal
strings (``*_dollars``: up to 4 dp, ``*_fp``: 2 dp) in 2026; recordings carry
either or both. Everything is parsed into :class:`~decimal.Decimal` first so
that arithmetic on prices (``1 - no_price``) and on sizes (signed deltas
summed into a level) is exact, and only the final value becomes a float.

Times: ``ts`` is epoch seconds, ``ts_ms`` epoch milliseconds, and some
fields are RFC 3339 strings; all become integer nanoseconds.
"""

from __future__ import annotations

import calendar
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from horizon_flow_core.errors import FrameError

ONE: Final = Decimal(1)
ZERO: Final = Decimal(0)
_HUNDRED: Final = Decimal(100)
_NS_PER_S: Final = 1_000_000_000
_NS_PER_MS: Final = 1_000_000


def _bad(field: str, reason: str) -> FrameError:
    return FrameError(reason, field=field)


def to_decimal(value: Any, field: str) -> Decimal:
    """A JSON number or decimal string as an exact Decimal (booleans refused)."""
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise _bad(field, f"expected a decimal string, got {value!r:.40}") from None
    elif type(value) is int:
        d = Decimal(value)
    elif type(value) is float:
        # repr is the shortest string that round-trips: 0.1 -> "0.1", not 0.1000000000000000055...
        d = Decimal(repr(value))
    else:
        raise _bad(field, f"expected a number or decimal string, got {type(value).__name__}")
    if not d.is_finite():
        raise _bad(field, f"expected a finite number, got {value!r:.40}")
    return d


def dollars(value: Any, field: str) -> Decimal:
    """A ``*_dollars`` price: a probability in [0, 1]."""
    d = to_decimal(value, field)
    if d < ZERO or d > ONE:
        raise _bad(field, f"price {value!r:.20} is outside [0, 1] dollars")
    return d


def cents(value: Any, field: str) -> Decimal:
    """A legacy integer-cents price (0..100), returned in dollars."""
    d = to_decimal(value, field) / _HUNDRED
    if d < ZERO or d > ONE:
        raise _bad(field, f"price {value!r:.20} cents is outside [0, 100]")
    return d


def count(value: Any, field: str, *, signed: bool = False) -> Decimal:
    """A contract count: ``*_fp`` string or legacy integer; negative only when ``signed``."""
    d = to_decimal(value, field)
    if not signed and d < ZERO:
        raise _bad(field, f"negative contract count {value!r:.20}")
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
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def iso_to_ns(value: Any, field: str) -> int:
    """RFC 3339 / ISO 8601 (``2025-08-12T21:00:32.5Z``) to epoch nanoseconds, exactly.

    A missing zone is taken as UTC (Kalshi's strings always carry ``Z``).
    Fractions beyond nanoseconds are truncated.
    """
    if not isinstance(value, str):
        raise _bad(field, f"expected an RFC 3339 time string, got {type(value).__name__}")
    m = _ISO.match(value.strip())
    if m is None:
        raise _bad(field, f"not an RFC 3339 time: {value!r:.40}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59
            and second <= 60):
        raise _bad(field, f"not a valid time: {value!r:.40}")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    frac = m.group(7) or ""
    ns = int(frac.ljust(9, "0")) if frac else 0
    zone = m.group(8)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    total = seconds * _NS_PER_S + ns
    if total < 0:
        raise _bad(field, f"time before 1970: {value!r:.40}")
    return total


def _epoch_int(value: Any, field: str, unit_ns: int) -> int:
    if type(value) is int:
        n = value
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    elif type(value) is float and value.is_integer():
        n = int(value)
    else:
        raise _bad(field, f"expected an integer epoch time, got {value!r:.40}")
    if n < 0:
        raise _bad(field, f"negative epoch time {n}")
    return n * unit_ns


def frame_time_ns(msg: dict[str, Any], prefix: str = "msg.",
                  keys: tuple[str, ...] = ("ts_ms", "ts", "time", "created_time")) -> int | None:
    """The frame's own time in ns, from the first of ``keys`` present.

    ``*_ms`` keys are milliseconds; ``ts`` is seconds when an integer and
    RFC 3339 when a string (``orderbook_delta`` uses the string form);
    ``*_time``/``time`` keys are RFC 3339. Returns None when none is present.
    """
    for key in keys:
        value = msg.get(key)
        if value is None:
            continue
        field = prefix + key
        if key.endswith("_ms"):
            return _epoch_int(value, field, _NS_PER_MS)
        if isinstance(value, str) and not value.strip().isdigit():
            return iso_to_ns(value, field)
        if key.endswith("time"):
            return iso_to_ns(value, field)
        return _epoch_int(value, field, _NS_PER_S)
    return None


def as_float(d: Decimal) -> float:
    """The one place a Decimal becomes a float (``float(Decimal("0.46")) == 0.46``)."""
    return float(d)
