"""The synthetic feed: deterministic, schema-valid, internally consistent, with its ground truth."""

from __future__ import annotations

import collections
import math

import pytest

from horizon_flow_core.events import KINDS, event_from_dict, event_to_dict
from horizon_flow_core.jsonio import canonical
from horizon_flow_core.synthetic import (
    CATEGORIES,
    DEFAULT_START_TS,
    MarketSpec,
    Scenario,
    default_markets,
    generate,
)

SMALL = 20_000  # events: a few minutes of market time over four markets


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate(seed=42, events=SMALL)


def _bytes(sc: Scenario) -> bytes:
    return canonical({"events": [event_to_dict(e) for e in sc.events],
                      "episodes": [e.to_dict() for e in sc.episodes], "roles": sc.roles})


def test_same_seed_same_bytes_other_seed_other_feed(scenario):
    assert _bytes(generate(seed=42, events=SMALL)) == _bytes(scenario)
    other = generate(seed=43, events=SMALL)
    assert [event_to_dict(e) for e in other.events[:500]] != [
        event_to_dict(e) for e in scenario.events[:500]]


def test_time_order_and_sequence_numbers(scenario):
    evs = scenario.events
    assert len(evs) >= SMALL
    assert evs[0].ts >= DEFAULT_START_TS
    assert all(a.ts <= b.ts for a, b in zip(evs, evs[1:], strict=False))
    assert [e.seq for e in evs] == list(range(1, len(evs) + 1))
    assert scenario.start_ts == DEFAULT_START_TS and scenario.end_ts == evs[-1].ts


def test_every_event_is_schema_valid_and_round_trips(scenario):
    for ev in scenario.events:
        assert event_from_dict(event_to_dict(ev)) == ev


def test_realistic_mix_of_kinds(scenario):
    kinds = collections.Counter(e.kind for e in scenario.events)
    expected = KINDS - {"feed.gap", "feed.stale"}
    assert set(kinds) == expected
    # Order messages dominate, trades are a few percent of them, books are periodic.
    assert kinds["book.delta"] > kinds["order.placed"] > kinds["order.filled"]
    assert kinds["order.filled"] == 2 * kinds["trade.tape"]
    assert 10 <= kinds["book.snapshot"] < kinds["quote.update"]


def test_prices_on_grid_and_prediction_prices_are_probabilities(scenario):
    specs = {m.market_id: m for m in scenario.markets}
    kinds = collections.Counter(m.kind for m in scenario.markets)
    assert kinds == {"prediction": 3, "crypto": 1}
    for ev in scenario.events:
        spec = specs[ev.market_id]
        prices = [p for p in (ev.price, ev.bid, ev.ask) if p is not None]
        prices += [p for p, _ in (ev.bids or []) + (ev.asks or [])]
        for p in prices:
            assert spec.min_price <= p <= spec.max_price
            assert math.isclose(p / spec.tick, round(p / spec.tick), abs_tol=1e-6)
            if spec.kind == "prediction":
                assert 0.0 < p < 1.0


def test_each_execution_is_two_fills_and_one_print(scenario):
    """One order.filled per participant (counterparties crossed, one aggressor) plus the tape."""
    by_exec: dict[tuple, list] = collections.defaultdict(list)
    for ev in scenario.events:
        if ev.kind in ("order.filled", "trade.tape"):
            by_exec[(ev.market_id, ev.ts, ev.price, ev.size)].append(ev)
    assert by_exec
    for group in by_exec.values():
        tapes = [e for e in group if e.kind == "trade.tape"]
        fills = [e for e in group if e.kind == "order.filled"]
        assert len(fills) == 2 * len(tapes) and tapes
        for tape in tapes:
            assert tape.actor_id is None and tape.side in ("buy", "sell")
        takers = [f for f in fills if f.aggressor]
        makers = [f for f in fills if f.aggressor is False]
        assert len(takers) == len(makers) == len(tapes)
        for t in takers:
            assert t.side == tapes[0].side
            assert any(m.actor_id == t.counterparty_id and m.counterparty_id == t.actor_id
                       and m.side != t.side for m in makers)


def test_books_rebuilt_from_deltas_match_snapshots_and_quotes(scenario):
    books: dict[str, dict[str, dict[float, float]]] = collections.defaultdict(
        lambda: {"buy": {}, "sell": {}})
    checked = 0
    for ev in scenario.events:
        book = books[ev.market_id]
        if ev.kind == "book.delta":
            if ev.size:
                book[ev.side][ev.price] = ev.size
            else:
                book[ev.side].pop(ev.price, None)
        elif ev.kind == "book.snapshot":
            bids = sorted(book["buy"].items(), reverse=True)[:10]
            asks = sorted(book["sell"].items())[:10]
            assert [tuple(lv) for lv in ev.bids] == bids
            assert [tuple(lv) for lv in ev.asks] == asks
            checked += 1
        elif ev.kind == "quote.update":
            assert ev.bid == (max(book["buy"]) if book["buy"] else None)
            assert ev.ask == (min(book["sell"]) if book["sell"] else None)
            if ev.bid is not None and ev.ask is not None:
                assert ev.bid < ev.ask  # the simulated book never stays crossed
    assert checked >= 10


def test_order_lifecycle_is_consistent(scenario):
    """Cancels, amends and maker fills refer to a live order of the same actor and side."""
    live: dict[str, tuple[str, str, float]] = {}
    for ev in scenario.events:
        if ev.kind == "order.placed":
            assert ev.order_id not in live
            live[ev.order_id] = (ev.actor_id, ev.side, ev.size)
        elif ev.kind in ("order.canceled", "order.amended") or (
                ev.kind == "order.filled" and ev.aggressor is False):
            actor, side, left = live[ev.order_id]
            assert (ev.actor_id, ev.side) == (actor, side)
            assert ev.size <= left + 1e-6
            if ev.kind == "order.canceled":
                del live[ev.order_id]
            elif ev.kind == "order.amended":
                live[ev.order_id] = (actor, side, ev.size)
            elif left - ev.size <= 1e-6:
                del live[ev.order_id]
            else:
                live[ev.order_id] = (actor, side, round(left - ev.size, 6))
        elif ev.kind == "order.filled":
            assert ev.order_id in live  # the taker's own order was placed just before
            actor, side, left = live[ev.order_id]
            live[ev.order_id] = (actor, side, round(left - ev.size, 6))


def test_ground_truth_episodes(scenario):
    eps = scenario.episodes
    assert collections.Counter(e.category for e in eps) == dict.fromkeys(CATEGORIES, 3)
    ids = [e.episode_id for e in eps]
    assert len(set(ids)) == len(ids)
    assert eps == sorted(eps, key=lambda e: (e.start_ts, e.episode_id))
    for e in eps:
        assert scenario.start_ts <= e.start_ts <= e.end_ts <= scenario.end_ts
        assert e.actor_ids and all(scenario.roles[a] == e.category for a in e.actor_ids)
        assert e.description
        if e.category == "momentum_ignition":  # needs a 1% move: prediction markets only
            assert e.market_id != "HYPE"
    # spread over markets and over the feed's time
    for cat in CATEGORIES:
        assert len({e.market_id for e in eps if e.category == cat}) >= 2
    assert len({e.market_id for e in eps}) == 4
    # every abuser acts only inside its episode's market
    abusers = {a: e for e in eps for a in e.actor_ids}
    for ev in scenario.events:
        if ev.actor_id in abusers:
            assert ev.market_id == abusers[ev.actor_id].market_id


def test_roles_cover_every_actor(scenario):
    actors = {e.actor_id for e in scenario.events if e.actor_id} | {
        e.counterparty_id for e in scenario.events if e.counterparty_id}
    assert actors <= set(scenario.roles)
    counts = collections.Counter(scenario.roles.values())
    assert counts["market_maker"] + counts["market_maker_cancel_heavy"] >= 8
    assert counts["small"] > counts["directional"] >= 4


def test_episode_switches_and_custom_markets():
    none = generate(seed=5, events=3000, episodes=False)
    assert none.episodes == [] and len(none.events) >= 3000
    one = generate(seed=5, events=3000, episodes=1)
    assert collections.Counter(e.category for e in one.episodes) == dict.fromkeys(CATEGORIES, 1)
    specs = [MarketSpec("A", start_price=0.3), MarketSpec("B", start_price=0.8)]
    sc = generate(seed=5, markets=specs, actors=12, events=2000, episodes=False)
    assert {e.market_id for e in sc.events} == {"A", "B"}
    assert [m.kind for m in default_markets(8)].count("crypto") == 2


@pytest.mark.parametrize("kwargs,match", [
    ({"markets": 0}, "at least one market"),
    ({"markets": [MarketSpec("X"), MarketSpec("X")]}, "duplicate market"),
    ({"events": -1}, ">= 0"),
])
def test_bad_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate(**kwargs)
