"""One venue in the daemon: its live source, its feed log, and its path to an engine.

The source runs on the daemon's event loop and talks to the rest of the
process only through the :class:`~horizon_flow_core.components.SourceContext`
built here:

* ``record_frame`` / ``record_event`` append to the venue's daily feed log
  *before* the events reach the engine, so what the engine saw can always be
  replayed;
* ``emit`` hands the batch to the engine's queue. A full queue holds the
  source back (the loop waits; the venue's TCP window fills) instead of
  dropping events: a surveillance gap would be silent, back-pressure is not;
* ``reject`` and ``metric`` are counted here and read by the metrics
  collector at scrape time, not pushed per frame.
"""

from __future__ import annotations

import logging
import queue
import re
import time
from collections.abc import Callable
from typing import Any

from ..components import SourceContext
from ..event_checks import split_valid
from ..events import MarketEvent
from .recorder import DailyFeedRecorder

log = logging.getLogger("horizon_flow.daemon")

#: what a queue carries: the venue the batch came from and the batch; None = stop
QueueItem = tuple["VenueRunner", list[MarketEvent]] | None

_METRIC_NAME = re.compile(r"[^a-zA-Z0-9_]")


class VenueRunner:
    """State and counters of one venue's source; see the module docstring."""

    def __init__(self, name: str, source: Any, queue_: queue.Queue[QueueItem], *,
                 recorder: DailyFeedRecorder | None = None,
                 clock: Callable[[], int] = time.time_ns, engine_name: str = "") -> None:
        self.name = name
        self.source = source
        self.queue = queue_
        self.recorder = recorder
        self.clock = clock
        self.engine_name = engine_name or name
        self.started_wall_ns = clock()
        self.frames = 0
        self.events_emitted = 0
        #: advanced by the engine worker after each batch is ingested
        self.events_ingested = 0
        self.last_ingested_ts = 0
        self.rejects = 0
        self.reconnects = 0
        self.blocked = 0
        self.last_frame_wall_ns: int | None = None
        self.last_event_wall_ns: int | None = None
        self.state = "starting"  # starting | running | restarting | ended | failed | stopped
        self.last_error: str | None = None
        self.restarts = 0
        self.source_counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.closed = False

    # ------------------------------------------------------------------ the source's context
    def context(self) -> SourceContext:
        return SourceContext(emit=self.emit, record_frame=self.record_frame,
                             record_event=self.record_event, reject=self.reject,
                             metric=self.metric, clock=self.clock)

    def record_frame(self, frame: Any, recv_ts: int) -> None:
        self.frames += 1
        self.last_frame_wall_ns = recv_ts
        if self.recorder is not None:
            self.recorder.frame(frame, recv_ts)

    def record_event(self, event: MarketEvent) -> None:
        # a source-made event (gap, stale) is proof of life as well: the source is running
        if self.recorder is not None:
            self.recorder.event(event, self.clock())

    def emit(self, events: list[MarketEvent]) -> None:
        if not events:
            return
        # the plugin boundary: an event no engine or log can take is rejected here
        # (its frame is in the feed log already), the rest of the batch goes on
        events, bad = split_valid(events)
        for _, err in bad:
            self.reject(str(err), None)
        if not events:
            return
        self.events_emitted += len(events)
        self.last_event_wall_ns = self.clock()
        item: QueueItem = (self, list(events))
        try:
            self.queue.put_nowait(item)
            return
        except queue.Full:
            pass
        self.blocked += 1
        if self.blocked <= 3 or self.blocked % 100 == 0:
            log.warning("venue %s: engine %s is behind (%d batches queued); holding the "
                        "source back (%d times so far)", self.name, self.engine_name,
                        self.queue.qsize(), self.blocked)
        while not self.closed:
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        log.error("venue %s: engine stopped; %d event(s) not ingested (they are in the feed "
                  "log)", self.name, len(events))

    def reject(self, reason: str, frame: Any) -> None:
        self.rejects += 1
        if self.rejects <= 20:
            log.warning("venue %s: frame rejected: %s (kept in the feed log)", self.name,
                        reason)
        elif self.rejects == 21:
            log.warning("venue %s: further rejects are counted (flow_rejects_total), not "
                        "logged", self.name)

    def metric(self, name: str, value: float = 1.0, **labels: Any) -> None:
        # venues spell one meaning several ways ("reconnects", "kalshi_reconnects",
        # "polymarket_ws_reconnects_total"): strip the venue prefix and "_total"
        base = metric_base(self.name, name)
        if base == "reconnects" or base.endswith("_reconnects"):
            self.reconnects += int(value)
            return
        if base == "rejects" or base.endswith("_rejects"):
            return  # counted by reject(), which every source calls for each reject
        key = (base, tuple(sorted((str(k), str(v)) for k, v in labels.items() if k != "venue")))
        self.source_counts[key] = self.source_counts.get(key, 0.0) + value

    # ------------------------------------------------------------------ reads
    def last_frame_age_s(self, now_ns: int) -> float:
        """Seconds since the last frame (since start when none came yet)."""
        last = self.last_frame_wall_ns if self.last_frame_wall_ns is not None else (
            self.started_wall_ns)
        return max(0.0, (now_ns - last) / 1e9)

    def last_event_age_s(self, now_ns: int) -> float:
        last = self.last_event_wall_ns if self.last_event_wall_ns is not None else (
            self.started_wall_ns)
        return max(0.0, (now_ns - last) / 1e9)


def metric_base(venue: str, name: str) -> str:
    """A source's counter name without the venue prefix and ``_total``, as a metric name part."""
    if name.startswith(venue + "_"):
        name = name[len(venue) + 1:]
    if name.endswith("_total"):
        name = name[: -len("_total")]
    return _METRIC_NAME.sub("_", name) or "unnamed"
