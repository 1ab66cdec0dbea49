"""Conformance checks any detector, venue or store can run against itself.

Each raises AssertionError with a message saying what the component got
wrong; call them from the plugin's own tests::

    def test_conformance():
        check_detector(MyDetector, MyConfig)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from ..components import FindingQuery
from ..engine.engine import FlowEngine
from ..errors import FeedError
from ..event_checks import event_problem
from ..events import KINDS, MarketEvent
from ..findings import SEVERITY_RANK, AnomalyFinding
from ..jsonio import canonical
from ..profiles import ActorProfile, uniform_prior
from .feed import FeedBuilder


def generic_feed() -> list[MarketEvent]:
    """A small feed touching every event kind, with a few actors and two markets."""
    fb = FeedBuilder(venue="conformance", market="M1", step_ms=5)
    fb.snapshot([(0.49, 100), (0.48, 200)], [(0.51, 100), (0.52, 200)])
    for i in range(30):
        oid = fb.place("mm", "buy", 0.49, 100 + i)
        fb.quote(0.49, 0.51, 100, 100)
        fb.delta("buy", 0.49, 100 + i)
        fb.fill("taker", "sell", 0.49, 10, counterparty="mm", aggressor=True)
        fb.cancel("mm", oid)
        fb.place("big", "sell", 0.55, 5000, market="M2")
        fb.advance(100)
    fb.gap()
    return fb.events


def check_detector(factory: Callable[..., Any], config_class: type | None = None,
                   feed: Iterable[MarketEvent] | None = None) -> None:
    cfg = config_class() if config_class is not None else None
    if config_class is not None:
        assert attrs.has(config_class), "config_class must be an attrs class"
    det = factory(cfg) if config_class is not None else factory()
    assert isinstance(getattr(det, "name", None), str) and det.name, "detector needs a name"
    kinds = getattr(det, "kinds", None)
    if kinds is not None:
        unknown = set(kinds) - KINDS
        assert not unknown, f"kinds lists unknown event kinds: {sorted(unknown)}"
    events = list(feed) if feed is not None else generic_feed()

    def run_once() -> list[bytes]:
        d = factory(cfg) if config_class is not None else factory()
        engine = FlowEngine(detectors=[d])
        engine.config = attrs.evolve(engine.config, engine=attrs.evolve(engine.config.engine,
                                                                        strict=True))
        engine.supervisor.strict = True
        out: list[AnomalyFinding] = []
        for ev in events:
            out.extend(engine.ingest(ev))
        out.extend(engine.finish())
        for f in out:
            assert f.citation, f"finding of {f.detector} has no citation"
            assert isinstance(f.evidence, dict), "evidence must be a dict"
            assert f.severity in SEVERITY_RANK
            assert 0.0 <= f.confidence <= 1.0
            canonical(f.evidence)  # must be JSON-serializable
        evict = getattr(d, "evict_idle", None)
        if evict is not None:
            evict(events[-1].ts + 10**15)
        return [canonical(f.to_dict()) for f in out]

    first, second = run_once(), run_once()
    assert first == second, "detector is not deterministic: two runs gave different findings"


def check_venue(normalizer_factory: Callable[[], Any], frames: Iterable[Any],
                unknown_frame: Any = None) -> list[MarketEvent]:
    if unknown_frame is None:
        unknown_frame = {"surely": "not a frame of this venue"}
    frames = list(frames)

    def run_once() -> list[MarketEvent]:
        n = normalizer_factory()
        assert isinstance(n.venue, str) and n.venue
        out: list[MarketEvent] = []
        for frame in frames:
            evs = n.normalize(frame, None)
            assert isinstance(evs, list), "normalize must return a list"
            for ev in evs:
                problem = event_problem(ev)
                assert problem is None, f"{problem}: {ev}"
                assert ev.venue == n.venue
            out.extend(evs)
        return out

    first, second = run_once(), run_once()
    assert first == second, "normalizer is not deterministic"
    try:
        normalizer_factory().normalize(unknown_frame, None)
    except FeedError:
        pass
    else:
        raise AssertionError("an unknown frame must raise FrameError (kept as a reject)")
    return first


def check_store(open_store: Callable[[str], Any], tmp_path: Path) -> None:
    url = str(tmp_path / "conformance.db")
    store = open_store(url)
    base = AnomalyFinding.make(detector="c", category="spoofing", severity="high",
                               confidence=0.8, market_id="M", venue="v", actor_id="a",
                               message="m", citation="c", evidence={"x": 1}, ts=5)
    f1 = base.with_identity(seq=1)
    f2 = attrs.evolve(base, ts=6).with_identity(seq=2)
    store.write_finding(f1)
    store.write_finding(f2)
    store.write_finding(f1)  # duplicate id: ignored
    store.upsert_profile(ActorProfile("v", "a", 1, {}, uniform_prior(), 1, 5))
    store.upsert_profile(ActorProfile("v", "a", 2, {}, uniform_prior(), 2, 6))
    store.flush()
    got = list(store.findings(FindingQuery()))
    assert [f.id for f in got] == [f1.id, f2.id], "findings must be stored once, in ts order"
    assert got[0] == f1, "a stored finding must read back equal"
    assert [f.id for f in store.findings(FindingQuery(since_ts=6))] == [f2.id]
    profs = store.profiles("a")
    assert len(profs) == 1 and profs[0].event_count == 2, "profiles upsert on (venue, actor)"
    store.close()
