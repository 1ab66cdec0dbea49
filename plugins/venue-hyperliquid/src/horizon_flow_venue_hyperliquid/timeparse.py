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

from horizon_flow_core.errors import FrameError

_NS_PER_MS: Final = 1_000_000
_NS_PER_S: Final = 1_000_000_000

# 2025-06-24T02:56:36.172847427, also with a space instead of T, a trailing Z
# or an explicit +00:00 offset (other offsets are converted).
_ISO: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}:?\d{2})?"
)


def ms_to_ns(value: Any, field: str) -> int:
    """Integer milliseconds (an int, or a string of digits) to nanoseconds."""
    if type(value) is int:
        if value < 0:
            raise FrameError(f"negative time {value}", field=field)
        return value * _NS_PER_MS
    if type(value) is str and value.isdigit():
        return int(value) * _NS_PER_MS
    if type(value) is float and value.is_integer() and value >= 0:
        return int(value) * _NS_PER_MS
    raise FrameError(f"expected integer milliseconds, got {value!r:.40}", field=field)


def iso_to_ns(value: Any, field: str) -> int:
    """An ISO-8601 string (UTC unless it says otherwise) to nanoseconds, exactly."""
    if type(value) is not str:
        raise FrameError(f"expected an ISO-8601 time string, got {value!r:.40}", field=field)
    m = _ISO.fullmatch(value)
    if m is None:
        raise FrameError(f"not an ISO-8601 time: {value!r:.60}", field=field)
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise FrameError(f"time out of range: {value!r:.60}", field=field)
    secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    frac = m.group(7) or ""
    nanos = int(frac.ljust(9, "0")) if frac else 0
    zone = m.group(8)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        secs -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return secs * _NS_PER_S + nanos


def any_to_ns(value: Any, field: str) -> int:
    """Milliseconds or ISO, whichever the value is."""
    if type(value) is str and not value.isdigit():
        return iso_to_ns(value, field)
    return ms_to_ns(value, field)
