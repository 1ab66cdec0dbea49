"""The thread that feeds one engine from its queue.

Each engine has its own thread, so a slow detector on one venue never holds
back another venue's engine, and the event loop only moves frames. Events
reach the engine in the order the source emitted them (one queue, one
consumer), which is the order they were recorded in, so a replay of the
feed log sees the same sequence.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from .venue import QueueItem

log = logging.getLogger("horizon_flow.daemon")


class EngineWorker:
    """Ingests batches from ``queue`` into ``engine`` until it gets ``None``."""

    def __init__(self, name: str, engine: Any, queue_: queue.Queue[QueueItem]) -> None:
        self.name = name
        self.engine = engine
        self.queue = queue_
        self.errors = 0
        self.last_error: str | None = None
        self.batches = 0
        self._thread = threading.Thread(target=self._run, name=f"flow-engine-{name}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        ingest = self.engine.ingest
        while True:
            item = self.queue.get()
            if item is None:
                return
            runner, events = item
            for ev in events:
                try:
                    ingest(ev)
                except Exception as exc:  # the engine isolates components; this is its own bug
                    self.errors += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    if self.errors <= 3 or self.errors % 1000 == 0:
                        log.exception("engine %s failed on a %s event of %s (%d errors so far)",
                                      self.name, ev.kind, ev.market_id, self.errors)
            runner.events_ingested += len(events)
            runner.last_ingested_ts = events[-1].ts
            self.batches += 1

    def stop(self, timeout_s: float) -> bool:
        """Let the queue drain, then stop. True when the thread ended within ``timeout_s``."""
        if not self._thread.is_alive():
            return True
        deadline = time.monotonic() + timeout_s
        try:  # a full queue takes the stop mark once the engine has made room
            self.queue.put(None, timeout=timeout_s)
        except queue.Full:
            return False
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def depth(self) -> int:
        return self.queue.qsize()

    @property
    def capacity(self) -> int:
        return self.queue.maxsize
