"""Periodic jobs of the daemon on one background thread (flushes, status file, textfile).

Each job has its own interval; a job that raises is logged and tried again
at its next turn, and never stops the others. The thread sleeps on an event,
so ``stop`` ends it at once (no busy loop, no sleeping through shutdown).
Slow jobs (audit chain verification) get their own :class:`Periodic`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import attrs

log = logging.getLogger("horizon_flow.daemon")


@attrs.define
class Job:
    name: str
    interval_s: float
    fn: Callable[[], object]
    next_at: float = 0.0
    runs: int = 0
    errors: int = 0
    last_error: str | None = None


class Periodic:
    """Runs jobs at their intervals on one thread until :meth:`stop`."""

    def __init__(self, name: str, *, tick_s: float = 0.25,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.tick_s = tick_s
        self.clock = clock
        self.jobs: list[Job] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def add(self, name: str, interval_s: float, fn: Callable[[], object], *,
            first_after_s: float | None = None) -> Job:
        job = Job(name, interval_s, fn)
        job.next_at = self.clock() + (interval_s if first_after_s is None else first_after_s)
        self.jobs.append(job)
        return job

    def start(self) -> None:
        self._thread.start()

    def run_due(self) -> None:
        now = self.clock()
        for job in self.jobs:
            if now >= job.next_at:
                self.run_job(job)
                job.next_at = max(job.next_at + job.interval_s, self.clock())

    @staticmethod
    def run_job(job: Job) -> None:
        try:
            job.fn()
            job.runs += 1
        except Exception as exc:
            job.errors += 1
            job.last_error = f"{type(exc).__name__}: {exc}"
            if job.errors <= 3 or job.errors % 100 == 0:
                log.error("periodic job %s failed: %s (%d times)", job.name, job.last_error,
                          job.errors)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            now = self.clock()
            wait = min((j.next_at for j in self.jobs), default=now + self.tick_s) - now
            self._stop.wait(max(0.01, min(self.tick_s, wait)))

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
