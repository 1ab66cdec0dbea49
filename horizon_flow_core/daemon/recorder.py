"""Daily raw feed logs: ``<feeds_dir>/<venue>/<YYYY-MM-DD>.jsonl``, one file per UTC day.

Each line is written by :class:`~horizon_flow_core.feeds.writer.RawRecorder`
(``{"venue", "recv_ts", "frame"}`` or ``{"venue", "recv_ts", "event"}``), so a
day's file is exactly what ``flow replay --venue V`` and ``flow scan --venue V``
read. The day is taken from each line's receive time, so a frame received at
23:59:59.999 UTC goes to that day's file and the next one to the next day's:
rotation needs no timer. A restart appends to the day's file.

``reopen`` (SIGHUP) closes and reopens the current file, for tools that moved
it away. Writing may fail (disk full): the error is counted and logged, the
live pipeline goes on, and the next line tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from ..events import MarketEvent
from ..feeds.writer import RawRecorder

log = logging.getLogger("horizon_flow.daemon.feeds")

_NS_PER_DAY = 86_400 * 1_000_000_000


def utc_day(ns: int) -> str:
    """``YYYY-MM-DD`` of a UTC time in nanoseconds."""
    return time.strftime("%Y-%m-%d", time.gmtime(ns // 1_000_000_000))


def day_file(feeds_dir: str | Path, venue: str, ns: int) -> Path:
    return Path(feeds_dir) / venue / f"{utc_day(ns)}.jsonl"


class DailyFeedRecorder:
    """Records one venue's frames and source-made events into daily files."""

    def __init__(self, feeds_dir: str | Path, venue: str) -> None:
        self.feeds_dir = Path(feeds_dir)
        self.venue = venue
        self._lock = threading.Lock()
        self._day_start = -1  # ns of 00:00 UTC of the open file's day
        self._recorder: RawRecorder | None = None
        self.lines = 0
        self.errors = 0
        self.last_error: str | None = None
        self.rotations = 0

    @property
    def path(self) -> Path | None:
        """The file being written (None before the first line)."""
        rec = self._recorder
        return rec.path if rec is not None else None

    def frame(self, frame: Any, recv_ts: int) -> None:
        with self._lock:
            rec = self._for(recv_ts)
            if rec is not None:
                self._write(lambda: rec.frame(frame, recv_ts))

    def event(self, ev: MarketEvent, recv_ts: int | None = None) -> None:
        ts = recv_ts if recv_ts is not None else ev.ts
        with self._lock:
            rec = self._for(ts)
            if rec is not None:
                self._write(lambda: rec.event(ev, ts))

    def _for(self, ns: int) -> RawRecorder | None:
        day_start = ns - ns % _NS_PER_DAY
        if self._recorder is not None and day_start == self._day_start:
            return self._recorder
        if self._recorder is not None:
            self._recorder.close()
            self.rotations += 1
            log.info("feed log %s: new UTC day, now writing %s", self.venue,
                     day_file(self.feeds_dir, self.venue, ns))
        self._recorder = None
        try:
            self._recorder = RawRecorder(day_file(self.feeds_dir, self.venue, ns), self.venue)
        except OSError as exc:
            self._failed(exc)
            return None
        self._day_start = day_start
        return self._recorder

    def _write(self, fn: Any) -> None:
        try:
            fn()
            self.lines += 1
        except (OSError, ValueError) as exc:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.errors <= 3 or self.errors % 1000 == 0:
            log.error("feed log %s: cannot write (%s); live surveillance goes on but this part "
                      "of the feed will not replay (%d write errors so far)", self.venue,
                      self.last_error, self.errors)

    def reopen(self) -> None:
        """Close and reopen the current day's file (SIGHUP)."""
        with self._lock:
            if self._recorder is None:
                return
            try:
                self._recorder.reopen()
            except OSError as exc:
                self._failed(exc)
                self._recorder = None
                self._day_start = -1

    def close(self) -> None:
        with self._lock:
            if self._recorder is not None:
                self._recorder.close()
                self._recorder = None
                self._day_start = -1
