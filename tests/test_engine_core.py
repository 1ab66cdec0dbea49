"""The engine's order of steps, dispatch by kind, error isolation and determinism."""

from __future__ import annotations

import itertools
import threading

import attrs
import pytest

from horizon_flow_core import AnomalyFinding, DetectorSpec, hookimpl, make_event
from horizon_flow_core.audit import AuditLog, MemoryAuditSink, verify_chain
from horizon_flow_core.config import FlowConfig
from horizon_flow_core.engine import FlowEngine, build_engine
from horizon_flow_core.events import MarketEvent
from horizon_flow_core.profiles import ActorProfile, uniform_prior
from horizon_flow_core.stores.memory import MemoryFlowStore
from horizon_flow_core.testing import FeedBuilder, isolated_plugin_manager


class CancelCounter:
    """Fires on every third cancel; asks only for cancels."""

    kinds = frozenset({"order.canceled"})

    def __init__(self, name: str = "cancels") -> None:
        self.name = name
        self.seen: list[str] = []

    def on_event(self, ev: MarketEvent, ctx: object) -> list[AnomalyFinding] | None:
        self.seen.append(ev.kind)
        if len(self.seen) % 3:
            return None
        return [AnomalyFinding.make(detector=self.name, category="quote_stuffing",
                                    severity="medium", confidence=0.5, market_id=ev.market_id,
                                    actor_id=ev.actor_id, message="3 cancels",
                                    citation="test", evidence={"n": len(self.seen)})]


class Explodes:
    name = "explodes"
    kinds = None

    def on_event(self, ev: MarketEvent, ctx: object) -> None:
        raise RuntimeError("boom")


def feed(n: int = 30) -> list[MarketEvent]:
    fb = FeedBuilder(step_ms=1)
    for _ in range(n):
        oid = fb.place("a", "buy", 0.5, 10)
        fb.cancel("a", oid)
    return fb.events


def test_dispatch_only_sends_declared_kinds() -> None:
    det = CancelCounter()
    engine = FlowEngine(detectors=[det])
    for ev in feed(9):
        engine.ingest(ev)
    assert det.seen == ["order.canceled"] * 9
    assert engine.findings_emitted == 3


def test_seed_style_detector_with_detect_still_works() -> None:
    class MyDetector:
        name = "my_detector"

        def __init__(self) -> None:
            self._recent: dict[str, list[str]] = {}

        def detect(self, events, ctx):  # type: ignore[no-untyped-def]
            for ev in events:
                if ev.event_kind == "order.canceled":
                    yield AnomalyFinding.make(detector_name=self.name, category="quote_stuffing",
                                              severity="High", market_id=ev.market_id,
                                              venue_name=ev.venue_name, actor_id=ev.actor_id,
                                              confidence=0.85, message="cancel",
                                              citation="custom")

    engine = FlowEngine()
    engine.add_detector(MyDetector())
    found = [f for ev in feed(2) for f in engine.ingest(ev)]
    assert [f.severity for f in found] == ["high", "high"]
    assert found[0].ts == feed(2)[1].ts  # ts filled from the triggering event


def test_raising_detector_is_quarantined_and_others_keep_working() -> None:
    audit = AuditLog(MemoryAuditSink())
    good = CancelCounter()
    engine = FlowEngine(detectors=[Explodes(), good], audit=audit)
    for ev in feed(30):
        engine.ingest(ev)
    status = {c["name"]: c for c in engine.supervisor.status()}
    assert status["explodes"]["quarantined"] is True
    assert status["explodes"]["errors"] == engine.config.engine.quarantine_after
    assert engine.findings_emitted == 10  # the good detector never missed an event
    engine.flush()
    cats = [r.category for r in audit.sink.records()]
    assert cats.count("component.error") == 5
    assert cats.count("component.quarantined") == 1
    assert verify_chain(audit.sink.records())[1] is None


def test_strict_mode_reraises() -> None:
    cfg = FlowConfig(engine=attrs.evolve(FlowConfig().engine, strict=True))
    engine = FlowEngine(cfg, detectors=[Explodes()])
    with pytest.raises(RuntimeError, match="boom"):
        engine.ingest(feed(1)[0])


def test_pipeline_order_profile_before_findings() -> None:
    class Profiler:
        name = "p"
        kinds = None

        def observe(self, ev: MarketEvent, seq: int) -> ActorProfile | None:
            return ActorProfile(ev.venue, ev.actor_id or "", seq, {}, uniform_prior(), seq, ev.ts)

        def profile(self, venue: str, actor: str) -> None:
            return None

        def finish(self, seq: int) -> list[ActorProfile]:
            return []

    audit = AuditLog(MemoryAuditSink())
    store = MemoryFlowStore()
    engine = FlowEngine(detectors=[CancelCounter()], profilers=[Profiler()], audit=audit,
                        store=store)
    order: list[str] = []
    engine.on_finding(lambda f: order.append("callback"))
    audit.subscribe(lambda r: order.append(r.category))
    for ev in feed(3):
        engine.ingest(ev)
    # the profile of the triggering event is audited before the finding it triggers
    assert order[-3:] == ["actor.profiled", "flow.anomaly", "callback"]
    assert store.profiles("a")[0].event_count == 6


def test_book_state_follows_snapshots_and_deltas() -> None:
    fb = FeedBuilder()
    fb.snapshot([(0.50, 10), (0.49, 20)], [(0.52, 5), (0.53, 7)])
    fb.delta("buy", 0.51, 3).delta("sell", 0.52, 0)
    engine = FlowEngine()
    for ev in fb.events:
        engine.ingest(ev)
    book = engine.snapshot_context().book("M")
    assert book is not None
    assert book.best_bid() == 0.51 and book.best_ask() == 0.53
    assert engine.snapshot_context().recent_book["M"] == ([(0.51, 3), (0.5, 10), (0.49, 20)],
                                                          [(0.53, 7)])


def _plugin(*names: str, priority: int = 100) -> object:
    class Plugin:
        @hookimpl
        def flow_detectors(self) -> list[DetectorSpec]:
            return [DetectorSpec(name=n, factory=lambda cfg, n=n: CancelCounter(n),
                                 priority=priority) for n in names]

    return Plugin()


def test_component_order_does_not_depend_on_registration_order() -> None:
    results = []
    for perm in itertools.permutations(["zeta", "alpha", "mid"]):
        pm = isolated_plugin_manager(*[_plugin(n) for n in perm])
        engine = build_engine(FlowConfig(), pm)
        found = [f.to_dict() for ev in feed(6) for f in engine.ingest(ev)]
        results.append((engine.detector_names, found))
    assert all(r == results[0] for r in results)
    assert results[0][0] == ["alpha", "mid", "zeta"]


def test_config_order_and_priority_decide() -> None:
    pm = isolated_plugin_manager(_plugin("alpha"), _plugin("zeta", priority=1),
                                 order=["mid"])
    pm.register(_plugin("mid"), name="mid-plugin")
    engine = build_engine(FlowConfig(), pm)
    assert engine.detector_names == ["mid", "zeta", "alpha"]


def test_replays_are_byte_identical() -> None:
    def run() -> tuple[list[dict[str, object]], list[str]]:
        audit = AuditLog(MemoryAuditSink())
        engine = FlowEngine(detectors=[CancelCounter()], audit=audit)
        out = [f.to_dict() for ev in feed(12) for f in engine.ingest(ev)]
        engine.close()
        return out, [r.hash for r in audit.sink.records()]

    assert run() == run()


def test_duplicate_finding_content_is_emitted_once() -> None:
    class Twice:
        name = "twice"
        kinds = frozenset({"order.placed"})

        def on_event(self, ev: MarketEvent, ctx: object) -> list[AnomalyFinding]:
            f = AnomalyFinding.make(detector="twice", category="x", severity="low",
                                    confidence=0.1, market_id="M", citation="t")
            return [f, f]

    engine = FlowEngine(detectors=[Twice()])
    assert len(engine.ingest(make_event("v", "M", "order.placed", 1, side="buy", price=1.0,
                                        size=1.0))) == 1


def test_feed_gap_makes_the_book_unknown_until_a_snapshot() -> None:
    fb = FeedBuilder()
    fb.snapshot([(0.50, 10)], [(0.52, 5)])
    fb.gap()
    fb.delta("buy", 0.51, 3)  # built on an unknown base: ignored
    engine = FlowEngine(audit=AuditLog(MemoryAuditSink()))
    for ev in fb.events:
        engine.ingest(ev)
    book = engine.snapshot_context().book("M")
    assert book is not None and book.stale and book.best_bid() is None
    engine.ingest(make_event("test", "M", "book.snapshot", fb.ts, bids=[[0.49, 1]], asks=[]))
    assert not book.stale and book.best_bid() == 0.49
    engine.flush()
    assert [r.category for r in engine.audit.sink.records()] == ["feed.gap"]  # type: ignore


def test_gap_of_a_fills_stream_leaves_books_alone() -> None:
    fb = FeedBuilder()
    fb.snapshot([(0.50, 10)], [(0.52, 5)])
    fb.gap(scope="fills")
    engine = FlowEngine()
    for ev in fb.events:
        engine.ingest(ev)
    book = engine.snapshot_context().book("M")
    assert book is not None and not book.stale and book.best_bid() == 0.50


def lock_is_free(engine: FlowEngine) -> bool:
    """Whether another thread can take the engine lock (it is re-entrant, so this
    thread could take it even while holding it)."""
    got: list[bool] = []

    def probe() -> None:
        ok = engine._lock.acquire(blocking=False)
        got.append(ok)
        if ok:
            engine._lock.release()

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    return got == [True]


def test_ingest_many_matches_ingest_per_event_and_releases_the_lock() -> None:
    """A replay ingests under one hold of the lock: same findings and audit chain as
    per-event ingest, and the lock is free again afterwards (also after a failure)."""
    def run(batch: bool) -> tuple[list[str], str, int]:
        audit = AuditLog(MemoryAuditSink())
        det = CancelCounter()
        engine = FlowEngine(detectors=[det], audit=audit)
        ids: list[str] = []
        engine.on_finding(lambda f: ids.append(f.id))
        if batch:
            assert engine.ingest_many(iter(feed(12))) == 24
        else:
            for ev in feed(12):
                engine.ingest(ev)
        assert lock_is_free(engine)
        return ids, audit.head[1], engine.ingest_count

    per_event, batched = run(False), run(True)
    assert per_event == batched
    assert len(per_event[0]) == 4  # every third of 12 cancels

    def broken() -> object:
        yield from feed(2)
        raise OSError("disk went away")

    engine = FlowEngine(detectors=[CancelCounter()])
    with pytest.raises(OSError, match="disk went away"):
        engine.ingest_many(broken())
    assert engine.ingest_count == 4
    assert lock_is_free(engine)


class Recorder:
    name = "recorder"
    kinds = frozenset({"order.canceled", "order.amended", "order.filled"})

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, str | None]] = []

    def on_event(self, ev: MarketEvent, ctx: object) -> None:
        self.seen.append((ev.kind, ev.order_id, ev.actor_id))


def test_order_events_naming_only_their_order_get_the_placing_actor() -> None:
    # cancel confirmations often carry the order id alone: detectors and profilers
    # follow actors, and without this would never see those orders cancelled
    rec = Recorder()
    engine = FlowEngine(detectors=[rec])
    ts = 1_732_147_200_000_000_000
    engine.ingest(make_event("v", "M", "order.placed", ts, actor_id="alice", order_id="o1",
                             side="buy", price=0.5, size=10.0))
    engine.ingest(make_event("v", "M", "order.amended", ts + 1, order_id="o1", size=5.0))
    engine.ingest(make_event("v", "M", "order.canceled", ts + 2, order_id="o1"))
    engine.ingest(make_event("v", "M", "order.canceled", ts + 3, order_id="unknown"))
    engine.ingest(make_event("v", "OTHER", "order.canceled", ts + 4, order_id="o1"))
    engine.ingest(make_event("v", "M", "order.canceled", ts + 5, order_id="o1",
                             actor_id="bob"))  # an actor the event names is kept
    assert rec.seen == [("order.amended", "o1", "alice"), ("order.canceled", "o1", "alice"),
                        ("order.canceled", "unknown", None), ("order.canceled", "o1", None),
                        ("order.canceled", "o1", "bob")]


def test_order_owners_are_bounded_oldest_first() -> None:
    engine = FlowEngine(FlowConfig(max_orders_per_market=100))
    ts = 1_732_147_200_000_000_000
    for i in range(250):
        engine.ingest(make_event("v", "M", "order.placed", ts + i, actor_id=f"a{i}",
                                 order_id=f"o{i}", side="buy", price=0.5, size=1.0))
    owners = engine._markets["M"].owners
    assert len(owners) <= 100 and "o249" in owners and "o0" not in owners
    assert owners["o249"] == "a249"
