"""One route's delivery: a bounded queue and a worker thread, so ingest never waits.

The caller (the engine thread) only runs the route's policy and puts what
passes on the queue with ``put_nowait``; a full queue is an overflow (the
alert is dead-lettered, never waited for). The worker renders and delivers
with retries. Undeliverable messages are *handed back* through a thread-safe
queue: the router writes them to the store and the audit log on the caller's
thread, because SQLite connections and the audit chain belong to that thread.

Shutdown: :meth:`begin_close` lets the worker drain the queue until a
deadline (backoff sleeps that would pass it give up); :meth:`abandon` takes
back whatever is still queued or in flight so the router can dead-letter it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import attrs

from .config import RouteConfig
from .delivery import Message, Sender, Target, deliver
from .policy import Outgoing, RoutePolicy

log = logging.getLogger("horizon_flow.alerts")

_WAKE = object()


@attrs.frozen
class DeadLetter:
    """An undeliverable message on its way back to the caller's thread."""

    route: str
    message: Message
    error: str
    attempts: int
    targets: tuple[Target, ...] = ()
    quiet: bool = False  # one summary line was logged for a batch (shutdown)

    def payload(self) -> dict[str, object]:
        return self.message.payload(self.targets, self.attempts)


@attrs.define
class RouteCounters:
    sent: int = 0
    failed: int = 0
    dead_lettered: int = 0
    deduped: int = 0
    rate_limited: int = 0
    dropped: int = 0
    filtered: int = 0
    escalated: int = 0
    overflow: int = 0
    digests: int = 0
    last_sent_wall_ns: int = 0

    def as_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


class RouteWorker:
    def __init__(self, name: str, config: RouteConfig, policy: RoutePolicy, sender: Sender,
                 render: Callable[[Outgoing], Message], dead: queue.SimpleQueue[DeadLetter],
                 counters: RouteCounters, clock: Callable[[], int],
                 on_result: Callable[[str, bool], None], idle_s: float = 1.0) -> None:
        self.name = name
        self.config = config
        self.policy = policy
        self.sender = sender
        self.render = render
        self.counters = counters
        self._dead = dead
        self._clock = clock
        self._on_result = on_result
        self._idle_s = idle_s
        self._queue: queue.Queue[object] = queue.Queue(maxsize=config.queue_size)
        self._closing = threading.Event()
        self._deadline: float | None = None
        self._lock = threading.Lock()
        self._in_flight: Outgoing | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name=f"flow-alert-{name}", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- caller side

    def submit(self, outgoing: Outgoing, timeout: float | None = None) -> bool:
        """Queue without blocking (or waiting at most ``timeout``, only at shutdown);
        False when the queue is full."""
        try:
            if timeout is None:
                self._queue.put_nowait(outgoing)
            else:
                self._queue.put(outgoing, timeout=max(0.0, timeout))
            return True
        except queue.Full:
            return False

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def begin_close(self, deadline: float) -> None:
        self._deadline = deadline
        self._closing.set()
        try:
            self._queue.put_nowait(_WAKE)  # cut the idle wait short
        except queue.Full:
            pass  # busy: it sees the flag after the current item

    def join(self, timeout: float) -> bool:
        self._thread.join(max(0.0, timeout))
        return not self._thread.is_alive()

    def abandon(self) -> list[tuple[Outgoing, bool]]:
        """What the worker did not finish: ``(outgoing, was_in_flight)``, in order."""
        with self._lock:
            self._abandoned = True
            left: list[tuple[Outgoing, bool]] = []
            if self._in_flight is not None:
                left.append((self._in_flight, True))
                self._in_flight = None
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _WAKE:
                left.append((item, False))  # type: ignore[arg-type]
        return left

    # ---------------------------------------------------------------- worker side

    def _run(self) -> None:
        while True:
            if self._closing.is_set():
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    return
            else:
                try:
                    item = self._queue.get(timeout=self._idle_s)
                except queue.Empty:
                    self._tick()
                    continue
            if item is _WAKE:
                continue
            with self._lock:
                if self._abandoned:
                    return
                self._in_flight = item  # type: ignore[assignment]
            try:
                self._deliver(item)  # type: ignore[arg-type]
            except Exception:  # never let one message kill the worker
                log.exception("alert route %s: delivery crashed", self.name)

    def _tick(self) -> None:
        try:
            for outgoing in self.policy.tick(self._clock()):
                if not self.submit(outgoing):
                    self._hand_back(self.render(outgoing), "queue full", 0, ())
        except Exception:
            log.exception("alert route %s: tick failed", self.name)

    def _wait(self, seconds: float) -> bool:
        if self._closing.is_set():
            deadline = self._deadline or 0.0
            if time.monotonic() + seconds > deadline:
                return False
            time.sleep(seconds)
            return True
        # an interrupted wait (close began) re-checks the deadline
        if self._closing.wait(seconds):
            return self._wait(0.0) if self._deadline is not None else True
        return True

    def _deliver(self, outgoing: Outgoing) -> None:
        message = self.render(outgoing)
        outcome = deliver(self.sender, message, self.config, wait=self._wait)
        with self._lock:
            if self._abandoned:
                return  # close() already dead-lettered it as in flight
            self._in_flight = None
            if outcome.ok:
                self.counters.sent += 1
                self.counters.last_sent_wall_ns = self._clock()
                if message.kind == "digest":
                    self.counters.digests += 1
                self._on_result(self.name, True)
                return
            self.counters.failed += 1
            self._on_result(self.name, False)
            self._hand_back(message, outcome.error, outcome.attempts, outcome.failed)

    def _hand_back(self, message: Message, error: str, attempts: int,
                   targets: tuple[Target, ...]) -> None:
        self._dead.put(DeadLetter(self.name, message, error, attempts, targets))
