"""Hyperliquid times to integer nanoseconds since the epoch (UTC), exactly.

The venue writes two forms: integer milliseconds (``time``, ``timestamp``,
``statusTimestamp`` on the WebSocket and the info endpoint) and ISO-8601
strings with up to nine fractional digits and no zone (node files and the S3
archive; the zone is UTC). Fractions are read as integers, never through a
float, so ``...36.172847427`` stays ``...36172847427`` nanoseconds.
"""

from __future__ import annotations

import calendar
import re
from typing import Any, Final

from horizon_flow_core.errors import FrameError, preview
from horizon_flow_core.event_checks import MAX_TS

_NS_PER_MS: Final = 1_000_000
_NS_PER_S: Final = 1_000_000_000

#: Times are accepted after the epoch and before 2200-01-01T00:00:00Z (well
#: inside a signed 64-bit count of nanoseconds); anything else is a bad field.
MAX_NS: Final = MAX_TS  # the core's bound on event times (2200-01-01)
_MAX_MS: Final = MAX_NS // _NS_PER_MS
_MIN_YEAR: Final = 1970
_MAX_YEAR: Final = 2199

# 2025-06-24T02:56:36.172847427, also with a space instead of T, a trailing Z
# or an explicit +00:00 offset (other offsets are converted). ASCII digits only.
_ISO: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


def ms_or_none(value: Any) -> int | None:
    """:func:`ms_to_ns` without the error: None for anything not a time in range."""
    t = type(value)
    if t is int:
        ms = value
    elif t is str:
        if not (value.isascii() and value.isdigit() and len(value) <= 19):
            return None
        ms = int(value)
    elif t is float:
        if not (0.0 < value <= _MAX_MS and value.is_integer()):  # also false for NaN
            return None
        ms = int(value)
    else:
        return None
    if 0 < ms <= _MAX_MS:
        return ms * _NS_PER_MS
    return None


def ms_to_ns(value: Any, field: str) -> int:
    """Integer milliseconds (an int, or a string of digits) to nanoseconds."""
    if type(value) is int and 0 < value <= _MAX_MS:  # the common case, inline
        return value * _NS_PER_MS
    ns = ms_or_none(value)
    if ns is None:
        raise FrameError(_ms_problem(value), field=field)
    return ns


def _ms_problem(value: Any) -> str:
    if type(value) is int or (type(value) is float and value.is_integer()):
        if value < 0:
            return f"negative time {preview(value)}"
        return f"time out of range (after 1970, before 2200): {preview(value)} ms"
    if type(value) is str and value.isascii() and value.isdigit():
        return f"time out of range (after 1970, before 2200): {preview(value)} ms"
    return f"expected integer milliseconds, got {preview(value)}"


def iso_to_ns(value: Any, field: str) -> int:
    """An ISO-8601 string (UTC unless it says otherwise) to nanoseconds, exactly."""
    if type(value) is not str:
        raise FrameError(f"expected an ISO-8601 time string, got {preview(value)}", field=field)
    m = _ISO.fullmatch(value)
    if m is None:
        raise FrameError(f"not an ISO-8601 time: {preview(value, 60)}", field=field)
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not (_MIN_YEAR <= year <= _MAX_YEAR and 1 <= month <= 12
            and 1 <= day <= calendar.monthrange(year, month)[1]
            and hour < 24 and minute < 60 and second < 61):
        raise FrameError(f"time out of range: {preview(value, 60)}", field=field)
    secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    frac = m.group(7) or ""
    nanos = int(frac.ljust(9, "0")) if frac else 0
    zone = m.group(8)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        secs -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    ns = secs * _NS_PER_S + nanos
    if not 0 < ns <= MAX_NS:
        raise FrameError(f"time out of range (after 1970, before 2200): {preview(value, 60)}",
                         field=field)
    return ns


def any_to_ns(value: Any, field: str) -> int:
    """Milliseconds or ISO, whichever the value is."""
    if type(value) is str and not (value.isascii() and value.isdigit()):
        return iso_to_ns(value, field)
    return ms_to_ns(value, field)
