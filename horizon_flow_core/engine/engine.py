"""The engine: one ``ingest(event)`` runs the pipeline in a fixed order.

1. count the event (the ingest sequence);
2. update rolling per-market state (trades, book snapshots, orders; bounded);
3. update the live L2 book from snapshots, deltas and quotes (part of 2);
4. update actor profiles through the profilers; a due snapshot is stored
   and audited (``actor.profiled``) *before* detectors run, so the audit log
   stays in causal order;
5. run the detectors that asked for this event's kind;
6. emit each finding to the store, the audit log, the alert sinks and the
   user callbacks, in that order.

Components are called directly (no pluggy on the hot path), each under the
supervisor (:mod:`.supervisor`). Same feed and config give byte-identical
findings and audit records whatever order plugins were installed in: the
component order comes from config, priority and name only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from ..audit.chain import AuditCategory, AuditLog, AuditRecord
from ..config.model import FlowConfig
from ..errors import StoreError
from ..events import ORDER_KINDS, MarketEvent
from ..findings import SEVERITY_RANK, AnomalyFinding
from ..profiles import ActorProfile
from .adapters import as_native_detector
from .context import EngineContext
from .state import MarketState
from .supervisor import ComponentFailure, Supervised, Supervisor

log = logging.getLogger("horizon_flow.engine")

_FINDING_CATEGORIES = frozenset({"flow.anomaly", "flow.bot_detected", "actor.profiled"})
_HIGH = SEVERITY_RANK["high"]
_RECENT_IDS = 100_000


def _observer(profiler: Any) -> Callable[..., Any]:
    """The profiler's ``observe``; one without it fails when called, under supervision."""
    observe = getattr(profiler, "observe", None)
    if callable(observe):
        return observe  # type: ignore[no-any-return]
    return lambda ev, seq: profiler.observe(ev, seq)


class FlowEngine:
    """Runs events through profilers and detectors and emits findings.

    Build it with components directly (tests, embedding) or from the
    installed plugins with :func:`horizon_flow_core.engine.build_engine`.
    """

    def __init__(
        self,
        config: FlowConfig | None = None,
        *,
        detectors: Iterable[Any] = (),
        profilers: Iterable[Any] = (),
        store: Any = None,
        audit: AuditLog | None = None,
        alert_sinks: Iterable[Any] = (),
        venue: str | None = None,
        plugin_manager: Any = None,
    ) -> None:
        self.config = config if config is not None else FlowConfig()
        self.venue_name = venue or ""
        self._lock = threading.RLock()
        self._count = 0
        self._last_ts = 0
        self._closed = False
        self._markets: dict[str, MarketState] = {}
        self._ctx = EngineContext(self, self._markets, self.config)
        ec = self.config.engine
        self.supervisor = Supervisor(quarantine_after=ec.quarantine_after,
                                     window_events=ec.quarantine_window_events, strict=ec.strict,
                                     on_failure=self._on_component_failure)
        self._pm = plugin_manager
        self._detectors: list[Supervised] = []
        self._dispatch: dict[str, tuple[tuple[Supervised, Callable[..., Any]], ...]] = {}
        self._profile_dispatch: dict[str, tuple[tuple[Supervised, Callable[..., Any]], ...]] = {}
        self._profilers: list[Supervised] = []
        self._alerts: list[Supervised] = []
        self._findings_only: set[int] = set()
        self._callbacks: list[Supervised] = []
        self._store: Supervised | None = None
        self.audit = audit
        self._recent_ids: OrderedDict[str, None] = OrderedDict()
        self._evict_every = ec.evict_every_events
        self._last_evict = 0
        self._last_tick = time.monotonic()
        self.findings_by_category: Counter[str] = Counter()
        self.findings_by_severity: Counter[str] = Counter()
        self.findings_emitted = 0
        self.profiles_emitted = 0
        self._kind_counts: dict[str, int] = {}
        if store is not None:
            self.set_store(store)
        for d in detectors:
            self.add_detector(d)
        for p in profilers:
            self.add_profiler(p)
        for a in alert_sinks:
            self.add_alert_sink(a)
        if audit is not None:
            audit.subscribe(self._on_audit_record)
            self._link_store_to_audit()

    # ------------------------------------------------------------------ wiring
    def add_detector(self, detector: Any, *, plugin: str = "(added)") -> None:
        native = as_native_detector(detector)
        sup = self.supervisor.add(native.name, "detector", plugin, native)
        self._detectors.append(sup)
        self._rebuild_dispatch()

    def add_profiler(self, profiler: Any, *, plugin: str = "(added)") -> None:
        self._profilers.append(self.supervisor.add(getattr(profiler, "name", "profiler"),
                                                   "profiler", plugin, profiler))
        self._rebuild_dispatch()

    def add_alert_sink(self, sink: Any, *, plugin: str = "(added)", records: bool = True
                       ) -> None:
        """Send findings to ``sink``; ``records=False``: not the operational audit records.

        A sink shared by several engines over one audit log subscribes to the
        log once itself, so each engine passes it findings only.
        """
        sup = self.supervisor.add(getattr(sink, "name", "alerts"), "alert", plugin, sink)
        self._alerts.append(sup)
        if not records:
            self._findings_only.add(id(sup))

    def set_store(self, store: Any, *, plugin: str = "(store)") -> None:
        self._store = self.supervisor.add(getattr(store, "url", "store"), "store", plugin, store)
        self._link_store_to_audit()

    def _link_store_to_audit(self) -> None:
        """A store that flushes on its own (size, timer) flushes the audit log first.

        The audit log is the authority: after a crash it must hold every
        finding the store holds. Stores offering a ``before_flush`` hook get
        the audit log's flush; the lock order is always store, then audit.
        """
        store = self._store.component if self._store is not None else None
        if store is not None and self.audit is not None and hasattr(store, "before_flush"):
            store.before_flush = self._flush_audit_first

    def _flush_audit_first(self) -> None:
        """The store's pre-flush hook. An audit log that cannot be written (disk full) is
        reported by its own writes; the store still keeps the findings rather than lose them.
        """
        audit = self.audit
        if audit is None or audit.closed:
            return
        try:
            audit.flush()
        except Exception as exc:
            log.error("audit log flush before a store flush failed: %s", exc)

    def on_finding(self, callback: Callable[[AnomalyFinding], Any]) -> None:
        """Call ``callback(finding)`` for every emitted finding (after stores and alerts)."""
        name = getattr(callback, "__name__", "callback")
        self._callbacks.append(self.supervisor.add(name, "callback", "(user)", callback))

    def _rebuild_dispatch(self) -> None:
        from ..events import KINDS

        table: dict[str, list[tuple[Supervised, Callable[..., Any]]]] = {k: [] for k in KINDS}
        for sup in self._detectors:
            if sup.quarantined:
                continue
            kinds = getattr(sup.component, "kinds", None)
            for k in (KINDS if not kinds else kinds):
                if k in table:
                    table[k].append((sup, sup.component.on_event))
        self._dispatch = {k: tuple(v) for k, v in table.items()}
        # profilers see events with an actor, of the kinds they asked for (all when None)
        ptable: dict[str, list[tuple[Supervised, Callable[..., Any]]]] = {k: [] for k in KINDS}
        for sup in self._profilers:
            if sup.quarantined:
                continue
            kinds = getattr(sup.component, "kinds", None)
            for k in (KINDS if not kinds else kinds):
                if k in ptable:
                    ptable[k].append((sup, _observer(sup.component)))
        self._profile_dispatch = {k: tuple(v) for k, v in ptable.items()}

    def remember_finding_ids(self, ids: Iterable[str]) -> None:
        """Findings already emitted (by a run before a restart): not emitted again."""
        for fid in ids:
            self._recent_ids[fid] = None
        while len(self._recent_ids) > _RECENT_IDS:
            self._recent_ids.popitem(last=False)

    @property
    def detectors(self) -> list[Any]:
        return [s.component for s in self._detectors]

    @property
    def detector_names(self) -> list[str]:
        return [s.name for s in self._detectors]

    @property
    def ingest_count(self) -> int:
        return self._count

    @property
    def events_by_kind(self) -> Counter[str]:
        """Events ingested, by kind."""
        return Counter(self._kind_counts)

    def snapshot_context(self) -> EngineContext:
        return self._ctx

    def profile(self, venue: str, actor_id: str) -> ActorProfile | None:
        for sup in self._profilers:
            if sup.quarantined:
                continue
            try:
                p: ActorProfile | None = sup.component.profile(venue, actor_id)
            except Exception:
                continue
            if p is not None:
                return p
        return None

    # ------------------------------------------------------------------ hot path
    def ingest(self, ev: MarketEvent) -> list[AnomalyFinding]:
        """Process one event; returns the findings it triggered (already emitted)."""
        with self._lock:
            return self._ingest_locked(ev)

    def ingest_many(self, events: Iterable[MarketEvent]) -> int:
        """Ingest every event of ``events``; returns how many.

        The engine lock is taken once for the whole stream instead of once per
        event: for a replay, whose events come from one thread and which no
        housekeeping thread sweeps. A live daemon calls :meth:`ingest` per
        event instead, so its housekeeping can take the lock between events.
        """
        n = 0
        with self._lock:
            step = self._ingest_locked
            for ev in events:
                step(ev)
                n += 1
        return n

    def _ingest_locked(self, ev: MarketEvent) -> list[AnomalyFinding]:
        """:meth:`ingest` with the engine lock already held by the caller."""
        # One function, locals for what every event reads: this runs per event.
        self._count = seq = self._count + 1
        ts = ev.ts
        if ts > self._last_ts:
            self._last_ts = ts
        kind = ev.kind
        counts = self._kind_counts
        counts[kind] = counts.get(kind, 0) + 1
        st = self._markets.get(ev.market_id)
        if st is None:
            st = self._new_market(ev.market_id)
        st.last_ts = ts

        # 2-3. rolling state and the live book
        if kind == "book.delta":
            st.book.apply_delta(ev.side, ev.price, ev.size, ts)  # type: ignore[arg-type]
        elif kind in ORDER_KINDS:
            oid = ev.order_id
            if ev.actor_id is None:
                if oid is not None:
                    owner = st.owners.get(oid)
                    if owner is not None:
                        # an order event naming only its order (a cancel confirmation,
                        # say) is the placing actor's: detectors and profilers follow
                        # actors, and would otherwise never see it cancelled
                        ev = attrs.evolve(ev, actor_id=owner)
            elif kind == "order.placed" and oid is not None:
                owners = st.owners
                owners[oid] = ev.actor_id
                if len(owners) > st.max_owners:
                    st.forget_oldest_owners()
            st.orders.append(ev)
        elif kind == "trade.tape":
            st.trades.append((ev.price, ev.size, ev.side, ts))  # type: ignore[arg-type]
        elif kind == "book.snapshot":
            st.book.apply_snapshot(ev.bids or [], ev.asks or [], ts)
            st.snapshots.append((ev.bids or [], ev.asks or [], ts))
        elif kind == "quote.update":
            st.book.apply_quote(ev.bid, ev.ask, ev.bid_size, ev.ask_size, ts)
        elif kind == "feed.gap" or kind == "feed.stale":
            if kind == "feed.gap":
                self._invalidate_books(ev)
            self._audit(kind, {"event": ev.to_dict()}, ts)

        # 4. actor profiles (stored and audited before detectors run), for the
        # kinds each profiler asked for
        if ev.actor_id is not None:
            for sup, observe in self._profile_dispatch.get(kind, ()):
                try:
                    prof = observe(ev, seq)
                except Exception as exc:
                    self._failed(sup, exc, ev)
                    continue
                if prof is not None:
                    self._emit_profile(prof)

        # 5. detectors for this kind
        ctx = self._ctx
        ctx.venue = ev.venue
        ctx.ingest_count = seq
        ctx.event = ev
        found: list[tuple[Supervised, Any]] | None = None
        for sup, on_event in self._dispatch.get(kind, ()):
            try:
                out = on_event(ev, ctx)
            except Exception as exc:
                self._failed(sup, exc, ev)
                continue
            if out:
                if found is None:
                    found = []
                for f in out:
                    found.append((sup, f))

        if seq & 4095 == 0:
            self._housekeeping(ts)
        # 6. emit
        if found is None:
            return []
        return self._emit_findings(found, ev)

    def _invalidate_books(self, ev: MarketEvent) -> None:
        """A gap makes the book of its market (``*``: every market) unknown until a snapshot.

        A gap in a stream that carries no book (``extra.scope`` = ``fills`` or
        ``trades``: a chain follower, an activity feed) leaves books alone.
        """
        if ev.extra and ev.extra.get("scope") in ("fills", "trades"):
            return
        if ev.market_id == "*":
            for st in self._markets.values():
                st.book.invalidate(ev.ts)
        else:
            self._markets[ev.market_id].book.invalidate(ev.ts)

    def _new_market(self, market_id: str) -> MarketState:
        c = self.config
        st = MarketState(market_id, c.max_trades_per_market, c.max_book_snapshots_per_market,
                         c.max_orders_per_market)
        self._markets[market_id] = st
        return st

    # ------------------------------------------------------------------ emission
    def _emit_findings(self, found: list[tuple[Supervised, Any]], ev: MarketEvent
                       ) -> list[AnomalyFinding]:
        out: list[AnomalyFinding] = []
        for sup, f in found:
            if not isinstance(f, AnomalyFinding):
                self._failed(sup, TypeError(f"returned {type(f).__name__}, not AnomalyFinding"),
                             ev)
                continue
            f = f.with_identity(seq=self._count, ts=ev.ts, venue=ev.venue)
            if f.id in self._recent_ids:
                continue  # the same finding twice (same content) is one finding
            self._recent_ids[f.id] = None
            if len(self._recent_ids) > _RECENT_IDS:
                self._recent_ids.popitem(last=False)
            out.append(f)
            self._publish(f, ev)
        return out

    def _publish(self, f: AnomalyFinding, ev: MarketEvent | None) -> None:
        self.findings_emitted += 1
        self.findings_by_category[f.category] += 1
        self.findings_by_severity[f.severity] += 1
        if SEVERITY_RANK[f.severity] >= _HIGH and f.confidence >= 0.9:
            category = AuditCategory.BOT_DETECTED
        else:
            category = AuditCategory.FLOW_ANOMALY
        # The authority first: a store write can trigger a flush, whose
        # before_flush flushes the audit log; the finding must already be in it.
        self._audit(category, {"finding": f.to_dict()}, f.ts)
        store = self._store
        if store is not None and not store.quarantined:
            try:
                store.component.write_finding(f)
            except Exception as exc:
                self._failed(store, exc, ev)
        if self._alerts:
            profile = self.profile(f.venue, f.actor_id) if f.actor_id else None
            for sup in self._alerts:
                if sup.quarantined:
                    continue
                try:
                    sup.component.notify_finding(f, profile)
                except Exception as exc:
                    self._failed(sup, exc, ev)
        for sup in self._callbacks:
            if sup.quarantined:
                continue
            try:
                sup.component(f)
            except Exception as exc:
                self._failed(sup, exc, ev)

    def _emit_profile(self, prof: ActorProfile) -> None:
        self.profiles_emitted += 1
        self._audit(AuditCategory.ACTOR_PROFILED, {"profile": prof.to_dict()}, prof.ts)
        store = self._store
        if store is not None and not store.quarantined:
            try:
                store.component.upsert_profile(prof)
            except Exception as exc:
                self._failed(store, exc, None)

    def _audit(self, category: str, payload: dict[str, Any], ts: int) -> AuditRecord | None:
        if self.audit is None:
            return None
        try:
            return self.audit.record(category, payload, ts)
        except Exception as exc:
            # The audit log is the authority: by default a run that cannot write
            # it stops (a scan exits non-zero) instead of going on unrecorded.
            log.error("audit log write failed (%s): %s", category, exc)
            if self.config.engine.stop_on_audit_error:
                if isinstance(exc, StoreError):
                    raise
                raise StoreError(f"audit log write failed: {exc}") from None
            return None

    def _on_audit_record(self, record: AuditRecord) -> None:
        """Operational audit records (gaps, quarantines, chain failures) go to alert sinks too."""
        if record.category in _FINDING_CATEGORIES:
            return
        for sup in self._alerts:
            if sup.quarantined or id(sup) in self._findings_only:
                continue
            try:
                sup.component.notify_record(record)
            except Exception as exc:
                self._failed(sup, exc, None)

    # ------------------------------------------------------------------ failures
    def _failed(self, sup: Supervised, exc: BaseException, ev: MarketEvent | None) -> None:
        self.supervisor.failed(sup, exc, self._count, ev)

    def _on_component_failure(self, failure: ComponentFailure, ev: Any) -> None:
        sup = failure.supervised
        payload: dict[str, Any] = {"component": sup.name, "kind": sup.kind, "plugin": sup.plugin,
                                   "error": f"{type(failure.error).__name__}: {failure.error}",
                                   "event_seq": self._count}
        if ev is not None:
            payload["market_id"] = ev.market_id
            payload["event_kind"] = ev.kind
        ts = ev.ts if ev is not None else self._last_ts
        # errors of the audit path itself are not audited (it would recurse)
        self._audit(AuditCategory.COMPONENT_ERROR, payload, ts)
        if failure.quarantined:
            self._audit(AuditCategory.COMPONENT_QUARANTINED,
                        {"component": sup.name, "kind": sup.kind, "plugin": sup.plugin,
                         "errors": sup.errors_total, "event_seq": self._count}, ts)
            if sup.kind in ("detector", "profiler"):
                self._rebuild_dispatch()
        if self._pm is not None:
            self._pm.call_lifecycle("flow_component_error", component=sup.name,
                                    plugin=sup.plugin, error=failure.error, event=ev,
                                    quarantined=failure.quarantined)

    # ------------------------------------------------------------------ housekeeping
    def _housekeeping(self, ts: int) -> None:
        """Every 4096 events: eviction on its own cadence, sink ticks about once a second."""
        if self._count - self._last_evict >= self._evict_every:
            self._last_evict = self._count
            self._evict(ts)
        now = time.monotonic()
        if now - self._last_tick >= 1.0:
            self.tick(now)

    def tick(self, now: float | None = None) -> None:
        """Let alert sinks release held digests and dead letters (also called by the daemon)."""
        self._last_tick = time.monotonic() if now is None else now
        for sup in self._alerts:
            fn = getattr(sup.component, "tick", None)
            if fn is None or sup.quarantined:
                continue
            try:
                fn()
            except Exception as exc:
                self._failed(sup, exc, None)

    def _evict(self, now_ts: int) -> None:
        """Drop idle markets and let components drop idle state (bounded memory)."""
        c = self.config
        market_before = now_ts - int(c.engine.market_idle_evict_s * 1e9)
        for m in [m for m, st in self._markets.items() if st.last_ts < market_before]:
            del self._markets[m]
        detector_before = now_ts - int(c.windows.long_s * 1e9)
        for sup in self._detectors:
            fn = getattr(sup.component, "evict_idle", None)
            if fn is not None and not sup.quarantined:
                try:
                    fn(detector_before)
                except Exception as exc:
                    self._failed(sup, exc, None)
        actor_before = now_ts - int(c.actors.idle_evict_s * 1e9)
        for sup in self._profilers:
            fn = getattr(sup.component, "evict_idle", None)
            if fn is not None and not sup.quarantined:
                try:
                    final = fn(actor_before)
                except Exception as exc:
                    self._failed(sup, exc, None)
                    continue
                # the last snapshots of evicted actors are stored and audited like any flush
                for prof in final or ():
                    self._emit_profile(prof)

    @property
    def last_ts(self) -> int:
        return self._last_ts

    @property
    def market_count(self) -> int:
        return len(self._markets)

    # ------------------------------------------------------------------ runs
    def run(self, feed: Iterable[MarketEvent] | str | Path) -> dict[str, Any]:
        """Ingest every event of ``feed`` (events, or a normalized feed log path), then close."""
        if isinstance(feed, str | Path):
            from ..feeds.reader import read_feed_log

            events: Iterable[MarketEvent] = read_feed_log(feed)
        else:
            events = feed
        n0, f0 = self._count, self.findings_emitted
        self.ingest_many(events)
        self.close()
        return {"events": self._count - n0, "findings": self.findings_emitted - f0}

    def finish(self) -> list[AnomalyFinding]:
        """Ask detectors for episodes still open and flush profiles, without closing sinks."""
        with self._lock:
            out: list[AnomalyFinding] = []
            ctx = self._ctx
            for sup in self._detectors:
                fn = getattr(sup.component, "finish", None)
                if fn is None or sup.quarantined:
                    continue
                try:
                    found = list(fn(ctx) or ())
                except Exception as exc:
                    self._failed(sup, exc, None)
                    continue
                for f in found:
                    if not isinstance(f, AnomalyFinding):
                        continue
                    f = f.with_identity(seq=self._count, ts=self._last_ts,
                                        venue=self.venue_name or f.venue)
                    if f.id in self._recent_ids:
                        continue
                    self._recent_ids[f.id] = None
                    out.append(f)
                    self._publish(f, None)
            for sup in self._profilers:
                if sup.quarantined:
                    continue
                try:
                    profs = list(sup.component.finish(self._count) or ())
                except Exception as exc:
                    self._failed(sup, exc, None)
                    continue
                for prof in profs:
                    self._emit_profile(prof)
            return out

    def flush(self) -> None:
        """Flush the audit log, then the store: the authority is never behind the view."""
        with self._lock:
            if self.audit is not None:
                self.audit.flush()
            if self._store is not None and not self._store.quarantined:
                try:
                    self._store.component.flush()
                except Exception as exc:
                    self._failed(self._store, exc, None)

    def close(self, *, alert_timeout_s: float = 5.0) -> None:
        """Finish open episodes, flush stores and the audit log, drain alert sinks."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.finish()
        self.flush()
        for sup in self._alerts:
            try:
                sup.component.close(alert_timeout_s)
            except Exception as exc:
                log.warning("alert sink %s failed to close: %s", sup.name, exc)

    def stats(self) -> dict[str, Any]:
        return {"events": self._count, "findings": self.findings_emitted,
                "profiles": self.profiles_emitted, "markets": len(self._markets),
                "findings_by_category": dict(sorted(self.findings_by_category.items())),
                "events_by_kind": dict(sorted(self.events_by_kind.items())),
                "components": self.supervisor.status()}
