"""When each market closes: from the config, or from what the venue's events say.

Two sources, in this order of authority:

1. ``closes`` in ``[detectors.resolution_ramp]``: ``market_id -> ISO 8601``
   time with a zone (``"2026-01-30T21:00:00Z"``). An analyst's explicit
   setting wins over anything a feed says.
2. The ``extra`` of any event of the market (venue plugins and feed-log
   producers keep listing metadata there), first key present of
   :data:`EVENT_KEYS`: an actual resolution time first, then the scheduled
   close. Values may be ISO 8601 text or epoch numbers in seconds,
   milliseconds, microseconds or nanoseconds (told apart by magnitude, as
   Kalshi sends seconds and Polymarket milliseconds). A later event's value
   replaces an earlier one (Kalshi's ``close_date_updated``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

#: keys of ``MarketEvent.extra`` read for the close time, most authoritative first
EVENT_KEYS: tuple[str, ...] = (
    "resolved_ts", "resolution_ts", "close_ts", "close_time", "end_date_iso", "end_date",
    "endDate", "expiration_time",
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_iso(text: str) -> int:
    """ISO 8601 with a zone -> integer nanoseconds; ValueError saying what is wrong."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time "
                         "(expected e.g. 2026-01-30T21:00:00Z)") from None
    if dt.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (add Z for UTC)")
    return ((dt - _EPOCH) // timedelta(microseconds=1)) * 1_000


def epoch_to_ns(value: float) -> int:
    """An epoch number in s, ms, us or ns (by magnitude) -> integer nanoseconds."""
    magnitude = abs(value)
    if magnitude < 1e11:  # seconds until the year 5138
        return int(round(value * 1e9))
    if magnitude < 1e14:
        return int(round(value * 1e6))
    if magnitude < 1e17:
        return int(round(value * 1e3))
    return int(value)


def parse_close(value: Any) -> int | None:
    """A close time as events carry it -> ns, or None when it cannot be read."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return epoch_to_ns(value) if value > 0 else None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return epoch_to_ns(float(text))
        except ValueError:
            pass
        try:
            return parse_iso(text)
        except ValueError:
            return None
    return None


def close_from_extra(extra: dict[str, Any] | None) -> tuple[int, str] | None:
    """``(close ns, key)`` from an event's extra, or None when it names no readable close."""
    if not extra:
        return None
    for key in EVENT_KEYS:
        if key in extra:
            ts = parse_close(extra[key])
            if ts is not None:
                return ts, key
    return None
