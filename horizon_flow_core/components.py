"""The component protocols: what the engine calls directly on the hot path.

Plugins register *factories* for these through the hooks in
:mod:`horizon_flow_core.hookspecs`; the engine builds the components once at
start-up and then calls their methods directly, each call under its own
supervision (see :mod:`horizon_flow_core.engine.supervisor`). Nothing here
goes through pluggy per event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from .events import MarketEvent
from .findings import AnomalyFinding
from .profiles import ActorProfile

if TYPE_CHECKING:
    from .audit.chain import AuditRecord
    from .engine.book import L2Book


# --------------------------------------------------------------------------- detectors


class DetectorContext(Protocol):
    """Read-only view of the engine's state for the current event's market.

    ``recent_trades[market_id]`` is a sequence of ``(price, size, side, ts)``
    (newest last) of ``trade.tape`` prints; ``recent_book[market_id]`` is
    ``(bids, asks)`` of the live L2 book, best first; ``book(market_id)`` is
    the live :class:`~horizon_flow_core.engine.book.L2Book`.
    """

    venue: str
    ingest_count: int
    recent_trades: Mapping[str, Sequence[tuple[float, float, str | None, int]]]
    recent_book: Mapping[str, tuple[list[tuple[float, float]], list[tuple[float, float]]]]
    recent_orders: Mapping[str, Sequence[MarketEvent]]

    def book(self, market_id: str) -> L2Book | None: ...

    def profile(self, venue: str, actor_id: str) -> ActorProfile | None: ...


@runtime_checkable
class Detector(Protocol):
    """A detector. The native, fast form is ``on_event``.

    ``kinds``: the event kinds it wants (``None`` = every kind); the engine
    dispatches each event only to detectors that asked for its kind.
    ``on_event`` returns a list of findings or ``None``. Findings may leave
    ``ts``/``venue`` unset: the engine fills them from the triggering event.

    ``finish`` (optional) is called once at close, to report episodes still
    open when the feed ended. ``evict_idle`` (optional) drops per-actor or
    per-market state not touched since ``before_ts``, so long-lived daemons
    stay bounded in memory.

    The earlier module's form, a class with ``name`` and
    ``detect(events, ctx)``, is accepted too (see
    :func:`horizon_flow_core.engine.adapters.as_native_detector`).
    """

    name: str
    kinds: frozenset[str] | None

    def on_event(self, event: MarketEvent, ctx: DetectorContext) -> list[AnomalyFinding] | None: ...


class LegacyDetector(Protocol):
    name: str

    def detect(self, events: Sequence[MarketEvent], ctx: DetectorContext
               ) -> Iterable[AnomalyFinding] | None: ...


# --------------------------------------------------------------------------- profilers


class Profiler(Protocol):
    """Maintains per-actor features and classifies actors.

    ``observe`` is called for every event with an ``actor_id`` (and the kinds
    in ``kinds``), and returns a fresh :class:`ActorProfile` when a flush is
    due (the first event of an actor and every
    ``actors.profile_refresh_event_interval`` events after), else ``None``.
    ``profile`` returns the current snapshot on demand; ``finish`` the final
    snapshots of every actor changed since its last flush.

    Optional: ``evict_idle(before_ts) -> list[ActorProfile]`` drops actors
    idle since ``before_ts`` (bounded memory for daemons) and returns their
    final snapshots, which the engine stores and audits.
    """

    name: str
    kinds: frozenset[str] | None

    def observe(self, event: MarketEvent, seq: int) -> ActorProfile | None: ...

    def profile(self, venue: str, actor_id: str) -> ActorProfile | None: ...

    def finish(self, seq: int) -> Iterable[ActorProfile]: ...


# --------------------------------------------------------------------------- venues


class FrameNormalizer(Protocol):
    """Turns one venue frame (as received: object, array or string) into events.

    Returns ``[]`` for frames that carry no market data (acks, pongs).
    Raises :class:`~horizon_flow_core.errors.FrameError` for a frame of a shape
    it does not know; the caller counts it and keeps it as a reject. A
    normalizer may keep state (dedupe keys, order status per id, books), so
    one instance serves one stream, and the same frames in the same order
    always give the same events.

    Optional: ``take_rejects() -> list[tuple[str, Any]]`` returns (and
    forgets) the ``(reason, item)`` of parts of frames it dropped while
    keeping the rest (one bad fill in an array of fills); scans add them to
    the rejects file like whole bad frames.
    """

    venue: str

    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]: ...


@attrs.define
class SourceContext:
    """What a live source is given to talk to the rest of the process.

    ``emit``: hand normalized events to the engine.
    ``record_frame``: the raw frame and its receive time, for the daily feed log.
    ``record_event``: an event the source itself made (``feed.gap``,
    ``feed.stale``), recorded so that scanning the recording reproduces it.
    ``reject``: a frame that could not be normalized, with the reason.
    ``metric``: increment a counter (``reconnects``, ``frames``...).
    ``clock``: wall-clock nanoseconds (tests inject a fake one).
    """

    emit: Callable[[list[MarketEvent]], None]
    record_frame: Callable[[Any, int], None] = lambda frame, recv_ts: None
    record_event: Callable[[MarketEvent], None] = lambda event: None
    reject: Callable[[str, Any], None] = lambda reason, frame: None
    metric: Callable[..., None] = lambda name, value=1.0, **labels: None
    clock: Callable[[], int] = attrs.field(factory=lambda: __import__("time").time_ns)


class LiveSource(Protocol):
    """A venue connection. ``run`` loops until cancelled, reconnecting by itself."""

    venue: str

    async def run(self, ctx: SourceContext) -> None: ...


# --------------------------------------------------------------------------- stores


@attrs.frozen
class FindingQuery:
    """Filter for :meth:`FlowStore.findings`. ``limit`` 0 means all."""

    since_ts: int | None = None
    until_ts: int | None = None
    categories: tuple[str, ...] = ()
    severity_min: str | None = None
    venue: str | None = None
    market_id: str | None = None
    actor_id: str | None = None
    detector: str | None = None
    limit: int = 0


@attrs.frozen
class RunInfo:
    """One scan, replay or daemon run, as recorded in a store's runs table."""

    run_id: str
    mode: str  # scan | replay | run | demo
    config_hash: str
    feed: str | None
    feed_sha256: str | None
    plugins: dict[str, str]
    started_wall_ns: int


@attrs.frozen
class RunCounts:
    events: int = 0
    rejects: int = 0
    findings: int = 0
    profiles: int = 0
    finished_wall_ns: int = 0
    status: str = "finished"  # finished | interrupted | failed


class FlowStore(Protocol):
    """The queryable store of findings, actor profiles, clusters, policies and runs.

    Writes are buffered: ``write_finding`` and ``upsert_profile`` never do
    one-row I/O on the hot path; the store flushes on size, on time and on
    ``flush``/``close``. Findings are append-only; writing a finding whose
    ``id`` is already stored is a no-op (so a restarted daemon duplicates
    nothing).
    """

    url: str

    def write_finding(self, finding: AnomalyFinding) -> None: ...

    def upsert_profile(self, profile: ActorProfile) -> None: ...

    def begin_run(self, run: RunInfo) -> None: ...

    def finish_run(self, run_id: str, counts: RunCounts) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def findings(self, query: FindingQuery) -> Iterator[AnomalyFinding]: ...

    def profiles(self, actor_id: str, venue: str | None = None) -> list[ActorProfile]: ...

    def verify(self) -> list[str]: ...


class AuditSink(Protocol):
    """Durable storage of the hash-chained audit log.

    ``head`` gives ``(seq, hash)`` of the last stored record so a new run
    continues the chain; ``append`` buffers records (durable after
    ``flush``); ``records`` iterates in sequence order.
    """

    url: str

    def head(self) -> tuple[int, str] | None: ...

    def append(self, records: Sequence[AuditRecord]) -> None: ...

    def records(self, start_seq: int = 0) -> Iterator[AuditRecord]: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class DeadLetterStore(Protocol):
    """Optional store capability: alerts that could not be delivered, kept for resending.

    Implementations must be thread-safe: alert workers call them from their
    own threads.

    Dead letters are operational records, not findings: they may be marked
    resent. ``payload`` is what the route would have sent (title, body,
    finding id...), never the route's secret URL.
    """

    def add_dead_letter(self, route: str, payload: dict[str, Any], error: str,
                        wall_ns: int) -> int: ...

    def dead_letters(self, route: str | None = None, *, include_resent: bool = False
                     ) -> list[dict[str, Any]]: ...

    def mark_dead_letter_resent(self, dead_letter_id: int, wall_ns: int) -> None: ...


# --------------------------------------------------------------------------- alerts


class AlertSink(Protocol):
    """Receives findings and operational audit records after they are stored.

    Must never block ingest: deliver from its own queue and worker.
    ``profile`` is the actor's latest profile when the engine has one.
    """

    name: str

    def notify_finding(self, finding: AnomalyFinding, profile: ActorProfile | None) -> None: ...

    def notify_record(self, record: AuditRecord) -> None: ...

    def close(self, timeout_s: float = 5.0) -> None: ...

    # Optional: ``tick()`` is called about once a second (wall clock) from the
    # engine's thread, so a sink can release held digests and dead letters in
    # quiet periods.


@attrs.define
class Runtime:
    """Services given to component factories and lifecycle hooks.

    ``config`` is the effective :class:`~horizon_flow_core.config.FlowConfig`;
    ``audit`` the :class:`~horizon_flow_core.audit.chain.AuditLog` (or None);
    ``store`` the flow store (or None); ``metrics`` the process metrics
    registry; ``data_dir`` where a component may keep files; ``feed_log``
    and ``config_path`` what a finding can be reproduced from (a scan's feed,
    or the daemon's daily recording directory), for alert texts.
    """

    config: Any
    audit: Any = None
    store: FlowStore | None = None
    metrics: Any = None
    data_dir: Path = Path("data")
    feed_log: str | None = None
    config_path: str | None = None
    clock: Callable[[], int] = attrs.field(factory=lambda: __import__("time").time_ns)
