"""Each planted episode shows its pattern in the events, checked without any detector.

The numbers are those of deployment.txt and the built-in detectors' defaults
(spoofing: bait >= 500 and >= 5x the genuine execution, cancelled within
2000 ms; layering: >= 3 levels cancelled within 3000 ms of an execution on
the other side; and so on), so a planted episode clears them with room.
"""

from __future__ import annotations

import collections
import statistics

import pytest

from horizon_flow_core.events import MarketEvent
from horizon_flow_core.synthetic import Episode, Scenario, generate

MS = 1_000_000


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate(seed=7, events=20_000)


def _own(sc: Scenario, e: Episode) -> list[MarketEvent]:
    return [ev for ev in sc.events if ev.actor_id in e.actor_ids]


def _episodes(sc: Scenario, category: str) -> list[Episode]:
    eps = sc.episodes_of(category)
    assert len(eps) == 3
    return list(eps)


def test_spoofing_bait_genuine_execution_and_quick_cancel(scenario):
    for e in _episodes(scenario, "spoofing"):
        evs = _own(scenario, e)
        placed = {ev.order_id: ev for ev in evs if ev.kind == "order.placed"}
        bait = max(placed.values(), key=lambda ev: ev.size)
        cancel = next(ev for ev in evs if ev.kind == "order.canceled"
                      and ev.order_id == bait.order_id)
        fills = [ev for ev in evs if ev.kind == "order.filled"]
        assert bait.size >= 500
        assert cancel.ts - bait.ts <= 2000 * MS and cancel.size == bait.size  # never filled
        genuine = [f for f in fills if bait.ts <= f.ts <= cancel.ts and f.side != bait.side]
        assert genuine and bait.size >= 5 * sum(f.size for f in genuine)


def test_layering_levels_execution_then_cancels(scenario):
    for e in _episodes(scenario, "layering"):
        evs = _own(scenario, e)
        fill = next(ev for ev in evs if ev.kind == "order.filled")
        layers = [ev for ev in evs if ev.kind == "order.placed" and ev.side != fill.side]
        cancels = {ev.order_id: ev for ev in evs if ev.kind == "order.canceled"}
        assert len({ev.price for ev in layers}) >= 3
        for layer in layers:
            assert layer.ts <= fill.ts <= cancels[layer.order_id].ts <= fill.ts + 3000 * MS
        assert sum(ev.size for ev in layers) >= 3 * fill.size


def test_quote_stuffing_burst_without_executions(scenario):
    for e in _episodes(scenario, "quote_stuffing"):
        msgs = [ev.ts for ev in _own(scenario, e) if ev.kind in ("order.placed", "order.canceled")]
        assert not [ev for ev in _own(scenario, e) if ev.kind == "order.filled"]
        # the busiest one-second window, against a first message well before it
        best = max(sum(1 for t in msgs if s <= t < s + 1000 * MS) for s in msgs)
        assert best >= 100
        assert e.start_ts - msgs[0] >= 30_000 * MS


def test_wash_trades_self_crosses_and_closed_rings(scenario):
    for e in _episodes(scenario, "wash_trade"):
        fills = [ev for ev in _own(scenario, e) if ev.kind == "order.filled"]
        assert len(fills) >= 8
        assert all(f.counterparty_id in e.actor_ids for f in fills)  # only among themselves
        net = collections.Counter()
        for f in fills:
            net[f.actor_id] += f.size if f.side == "buy" else -f.size
        volume = sum(f.size for f in fills) / 2
        assert all(abs(v) <= 0.05 * volume for v in net.values())
        if len(e.actor_ids) == 1:
            assert all(f.counterparty_id == f.actor_id for f in fills)
        else:
            assert volume >= 1000


def test_momentum_ignition_burst_moves_price_then_reverses(scenario):
    for e in _episodes(scenario, "momentum_ignition"):
        fills = [ev for ev in _own(scenario, e) if ev.kind == "order.filled"]
        side = e.details["side"]
        burst = [f for f in fills if f.side == side and f.aggressor]
        back = [f for f in fills if f.side != side]
        assert len(burst) >= 3 and burst[-1].ts - burst[0].ts <= 5000 * MS
        start = burst[0].price
        move = (burst[-1].price - start) / start * (1 if side == "buy" else -1)
        assert move >= 0.01
        burst_volume = sum(f.size for f in burst)
        assert sum(f.size for f in back) >= 0.5 * burst_volume
        assert all((f.price > start) if side == "buy" else (f.price < start) for f in back)
        assert back[-1].ts - burst[-1].ts <= 60_000 * MS


def test_iceberg_executes_far_more_than_it_shows(scenario):
    for e in _episodes(scenario, "iceberg"):
        evs = _own(scenario, e)
        placed = [ev for ev in evs if ev.kind == "order.placed"]
        fills = [ev for ev in evs if ev.kind == "order.filled"]
        assert len({ev.price for ev in placed}) == 1  # one price level
        shown = e.details["shown"]
        assert all(ev.size == shown for ev in placed)
        assert len(placed) >= 3 and sum(f.size for f in fills) >= 3 * shown


def test_split_order_many_similar_children_one_side(scenario):
    for e in _episodes(scenario, "split_order"):
        fills = [ev for ev in _own(scenario, e) if ev.kind == "order.filled"]
        assert {f.side for f in fills} == {e.details["side"]}
        children: dict[str, float] = collections.defaultdict(float)
        for f in fills:
            children[f.order_id] += f.size
        sizes = list(children.values())
        assert len(sizes) >= 10 and sum(sizes) >= 1000
        assert statistics.pstdev(sizes) / statistics.mean(sizes) <= 0.2
        assert max(sizes) <= 0.25 * sum(sizes)
