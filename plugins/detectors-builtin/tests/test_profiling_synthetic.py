"""The profiler on the seeded synthetic feed and inside the engine: roles map to classes,
profiles are stored and audited with probabilities that sum to one."""

from __future__ import annotations

import collections
import math

import pytest
from horizon_flow_detectors_builtin.profiling import KirilenkoProfiler

from horizon_flow_core.audit.chain import AuditLog, MemoryAuditSink, verify_chain
from horizon_flow_core.engine import FlowEngine
from horizon_flow_core.stores.memory import MemoryFlowStore
from horizon_flow_core.synthetic import generate

INTERMEDIARIES = {"market_maker", "high_frequency"}
FUNDAMENTAL = {"fundamental_buyer", "fundamental_seller"}


@pytest.fixture(scope="module")
def classified():
    sc = generate(seed=42, events=120_000)
    prof = KirilenkoProfiler()
    for seq, ev in enumerate(sc.events, 1):
        prof.observe(ev, seq)
    final = {p.actor_id: p for p in prof.finish(len(sc.events))}
    by_role: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for actor, role in sc.roles.items():
        p = prof.profile("synthetic", actor)
        if p is not None and p.event_count >= 30:
            by_role[role][p.top_class] += 1
    return sc, final, by_role


def test_market_makers_are_mostly_intermediaries(classified):
    _, _, by_role = classified
    makers = by_role["market_maker"] + by_role["market_maker_cancel_heavy"]
    assert sum(makers[c] for c in INTERMEDIARIES) > sum(makers.values()) / 2, makers


def test_directional_traders_are_fundamental_with_the_right_sign(classified):
    sc, final, by_role = classified
    directional = by_role["directional"]
    assert sum(directional[c] for c in FUNDAMENTAL) > sum(directional.values()) / 2, directional
    for actor, role in sc.roles.items():
        p = final.get(actor)
        if role == "directional" and p is not None and p.top_class in FUNDAMENTAL:
            net = p.features["net_position"]
            assert (net > 0) == (p.top_class == "fundamental_buyer")


def test_quote_stuffers_who_never_trade_are_small(classified):
    _, _, by_role = classified
    assert by_role["quote_stuffing"] and set(by_role["quote_stuffing"]) == {"small"}


def test_every_final_profile_is_well_formed(classified):
    _, final, _ = classified
    assert final
    for p in final.values():
        assert abs(math.fsum(p.taxonomy.values()) - 1.0) <= 1e-12
        assert p.venue == "synthetic" and p.event_count >= 1


def test_profiles_are_stored_and_audited_by_the_engine():
    sc = generate(seed=8, events=6_000, episodes=False)
    audit = AuditLog(MemoryAuditSink())
    store = MemoryFlowStore()
    engine = FlowEngine(profilers=[KirilenkoProfiler()], store=store, audit=audit)
    for ev in sc.events:
        engine.ingest(ev)
    engine.close()
    records = [r for r in audit.sink.records() if r.category == "actor.profiled"]
    assert records and engine.profiles_emitted == len(records)
    checked, problem = verify_chain(list(audit.sink.records()))
    assert problem is None and checked >= len(records)
    actors_with_orders = {e.actor_id for e in sc.events if e.actor_id}
    assert {r.payload["profile"]["actor_id"] for r in records} == actors_with_orders
    for r in records:
        probs = r.payload["profile"]["taxonomy"]
        assert abs(math.fsum(probs.values()) - 1.0) <= 1e-12
    some = sorted(actors_with_orders)[0]
    stored = store.profiles(some)
    assert stored and stored[-1].actor_id == some
