"""Time-of-day windows and weekdays in a stated time zone: when a route may alert.

A window is ``"HH:MM-HH:MM"`` in the route's time zone, start inclusive, end
exclusive; an end before the start crosses midnight (``"22:00-06:00"``),
``"24:00"`` is the end of the day. Weekdays are checked on the local date of
the moment being tested.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_window(text: str) -> tuple[int, int]:
    """``"13:00-21:30"`` -> minutes of the day ``(780, 1290)``; ValueError when malformed."""
    m = _WINDOW.match(text)
    if not m:
        raise ValueError(f"time window {text!r} is not HH:MM-HH:MM (for example \"13:00-21:00\")")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    for h, mm, total in ((h1, m1, start), (h2, m2, end)):
        if mm > 59 or total > 24 * 60 or (h == 24 and mm):
            raise ValueError(f"time window {text!r}: {h:02d}:{mm:02d} is not a time of day")
    if start == end:
        raise ValueError(f"time window {text!r} is empty (start equals end)")
    if start == 24 * 60:
        raise ValueError(f"time window {text!r} starts at 24:00; use 00:00")
    return start, end


def parse_weekday(text: str) -> int:
    """``"mon"``/``"Monday"`` -> 0 ... ``"sun"`` -> 6; ValueError otherwise."""
    t = text.strip().lower()
    if t in WEEKDAYS:
        return WEEKDAYS.index(t)
    if t in _FULL_DAYS:
        return _FULL_DAYS.index(t)
    raise ValueError(f"weekday {text!r} is not one of {', '.join(WEEKDAYS)}")


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time zone {name!r} is not an IANA time zone name "
                         "(for example \"UTC\", \"America/New_York\")") from None


@attrs.frozen
class Schedule:
    """When a route is open. No windows and no weekdays: always open."""

    windows: tuple[tuple[int, int], ...] = ()
    weekdays: frozenset[int] = frozenset()
    tz: ZoneInfo = attrs.field(factory=lambda: ZoneInfo("UTC"))

    @classmethod
    def build(cls, windows: tuple[str, ...], weekdays: tuple[str, ...], timezone: str
              ) -> Schedule:
        return cls(windows=tuple(parse_window(w) for w in windows),
                   weekdays=frozenset(parse_weekday(d) for d in weekdays),
                   tz=parse_timezone(timezone))

    @property
    def always_open(self) -> bool:
        return not self.windows and not self.weekdays

    def is_open(self, wall_ns: int) -> bool:
        if self.always_open:
            return True
        local = datetime.fromtimestamp(wall_ns / 1e9, tz=self.tz)
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        if not self.windows:
            return True
        minute = local.hour * 60 + local.minute
        for start, end in self.windows:
            if start < end:
                if start <= minute < end:
                    return True
            elif minute >= start or minute < end:  # crosses midnight
                return True
        return False
