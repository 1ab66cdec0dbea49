"""generate_stream: lazy, exact count, deterministic, bounded state under actor churn."""

from __future__ import annotations

import collections
import itertools

from horizon_flow_core.events import event_to_dict
from horizon_flow_core.synthetic import CATEGORIES, generate_stream


def test_exact_count_and_lazy():
    stream = generate_stream(seed=3, n_events=5000, n_markets=3, n_actors=30)
    first = list(itertools.islice(stream, 10))
    assert stream.count == 10 and len(first) == 10  # nothing made ahead of need
    rest = list(stream)
    assert len(first) + len(rest) == 5000
    assert list(stream) == []


def test_deterministic_for_a_seed():
    def head(seed: int) -> list[dict]:
        return [event_to_dict(e) for e in generate_stream(seed=seed, n_events=3000, n_markets=3,
                                                          n_actors=30)]
    assert head(9) == head(9)
    assert head(9) != head(10)


def test_mix_of_kinds_and_markets():
    evs = list(generate_stream(seed=4, n_events=20_000, n_markets=8, n_actors=80))
    kinds = collections.Counter(e.kind for e in evs)
    assert {"book.snapshot", "book.delta", "quote.update", "order.placed", "order.canceled",
            "order.filled", "trade.tape"} <= set(kinds)
    assert len({e.market_id for e in evs}) == 8
    assert all(a.ts <= b.ts for a, b in zip(evs, evs[1:], strict=False))


def test_churn_brings_new_actors_while_state_stays_bounded():
    stream = generate_stream(seed=5, n_events=90_000, n_markets=4, n_actors=60,
                             churn_per_hour=3600.0, lifetime_s=120.0)
    seen: set[str] = set()
    sizes = []
    for i, ev in enumerate(stream, 1):
        if ev.actor_id:
            seen.add(ev.actor_id)
        if i % 30_000 == 0:
            sizes.append(stream.state_sizes())
    assert len(seen) > 300  # far more actors over the stream than are ever live
    first, last = sizes[0], sizes[-1]
    for key in ("resting_orders", "positions", "actors", "tasks"):
        assert last[key] <= 2 * first[key] + 50, (key, sizes)
    assert last["actors"] < len(seen) / 2


def test_planted_episodes_in_a_stream():
    stream = generate_stream(seed=6, n_events=60_000, n_markets=4, n_actors=40,
                             episodes_every_s=20.0)
    for _ in stream:
        pass
    cats = collections.Counter(e.category for e in stream.episodes)
    assert set(cats) == set(CATEGORIES)
    assert all(e.start_ts <= e.end_ts for e in stream.episodes)
