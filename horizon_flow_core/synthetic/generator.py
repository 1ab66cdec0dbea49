"""The driver: a discrete-event loop over participant and episode tasks.

Tasks sit in a heap keyed by ``(wake time, creation number)``, so the order
of events depends only on the seed: the same seed gives the same events,
byte for byte, on every machine and Python version (``random.Random`` is
specified to be reproducible for a given seed).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import Final

from ..events import MarketEvent
from .episodes import CATEGORIES, DURATION_S, FEASIBLE, episode_task
from .flow import NS, Task, World, populate
from .model import Episode, MarketSpec, Scenario, default_markets
from .sim import MarketSim, Simulator

#: 2025-01-06T14:00:00Z, a Monday afternoon in New York: a fixed default start.
DEFAULT_START_TS: Final = 1_736_172_000 * NS

#: Roughly how many events a default market produces per second of market
#: time (measured on the default population), used to turn an event target
#: into a duration for spreading the planted episodes.
_EVENTS_PER_MARKET_S: Final = 20.0

#: Episode slots leave this much time around the long episodes.
_MARGIN_S: Final = 20.0


def _markets(markets: int | Sequence[MarketSpec]) -> dict[str, MarketSim]:
    specs = default_markets(markets) if isinstance(markets, int) else tuple(markets)
    if not specs:
        raise ValueError("the synthetic feed needs at least one market")
    ids = [s.market_id for s in specs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate market ids: {sorted(ids)}")
    return {s.market_id: MarketSim(s) for s in specs}


class _Loop:
    def __init__(self, world: World, start_ts: int) -> None:
        self.world = world
        self.start_ts = start_ts
        self._heap: list[tuple[int, int, Task]] = []
        self._n = 0

    def add(self, at_ts: int, task: Task) -> None:
        self._n += 1
        heapq.heappush(self._heap, (at_ts, self._n, task))

    def run(self) -> Iterator[MarketEvent]:
        """Run tasks in time order, yielding their events as they are made."""
        world, sim, heap = self.world, self.world.sim, self._heap
        while heap:
            ts, _, task = heapq.heappop(heap)
            sim.now = ts
            try:
                delay: int | None = next(task)
            except StopIteration:
                delay = None
            if sim.out:
                out = sim.out
                sim.out = []
                yield from out
            if delay is not None:
                self.add(ts + max(delay, 1), task)
            if world.spawned:
                for d, t in world.spawned:
                    self.add(ts + d, t)
                world.spawned.clear()


def _plan(kinds: Sequence[str], per_category: int, duration_s: float
          ) -> list[tuple[float, str, int, int]]:
    """``(start offset s, category, index, market index)`` for every planted episode.

    Episodes are interleaved by category and spread over the markets (each
    in a market whose kind can host it) and over the duration, the long ones
    (split orders, wash rings) placed where they can finish.
    """
    items = [(cat, i) for i in range(per_category) for cat in CATEGORIES]
    k = len(items)
    n = len(kinds)
    plan = []
    for j, (cat, i) in enumerate(items):
        slot = _MARGIN_S + (duration_s - 2 * _MARGIN_S) * j / max(k, 1)
        latest = duration_s - DURATION_S[cat] - _MARGIN_S
        start = max(min(slot, latest), _MARGIN_S)
        market = next((mi % n for mi in range(j, j + n) if cat in FEASIBLE[kinds[mi % n]]),
                      None)
        if market is not None:
            plan.append((start, cat, i, market))
    return plan


def generate(seed: int = 42, markets: int | Sequence[MarketSpec] = 4, actors: int = 40,
             events: int = 40_000, episodes: bool | int = True,
             start_ts: int = DEFAULT_START_TS) -> Scenario:
    """A seeded synthetic feed over several markets, with planted episodes of every category.

    ``markets``: how many (default: three prediction markets and a crypto
    perp) or the specs. ``actors``: ordinary participants (about a fifth of
    them market makers). ``events``: roughly how many events to generate (the
    feed runs until it has at least this many and every planted episode has
    finished). ``episodes``: ``True`` plants 3 of each category, an int that
    many, ``False`` or 0 none. The result is deterministic for the arguments.
    """
    if events < 0 or actors < 0:
        raise ValueError("events and actors must be >= 0")
    per_category = 3 if episodes is True else int(episodes)
    sims = _markets(markets)
    sim = Simulator(sims, start_ts)
    world = World(sim, seed)
    loop = _Loop(world, start_ts)
    for delay, task in populate(world, actors):
        loop.add(start_ts + delay, task)
    market_list = list(sims.values())
    duration_s = max(events / (_EVENTS_PER_MARKET_S * len(sims)), 60.0)
    if per_category > 0:
        need = max(DURATION_S.values()) + 2 * _MARGIN_S + 7 * per_category * 10.0
        duration_s = max(duration_s, need)
    planted: list[Episode] = []
    plan = _plan([m.spec.kind for m in market_list], per_category, duration_s)
    for start, cat, i, mi in plan:
        loop.add(start_ts + int(start * NS), _late(world, cat, i, market_list[mi], planted))
    out: list[MarketEvent] = []
    # A script that could not play (no room in the book) records nothing.
    for ev in loop.run():
        out.append(ev)
        if len(out) >= events and world.episodes_over >= len(plan):
            break
    end_ts = out[-1].ts if out else start_ts
    planted.sort(key=lambda e: (e.start_ts, e.episode_id))
    return Scenario(seed=seed, events=out, episodes=planted, markets=tuple(
        m.spec for m in market_list), roles=dict(sorted(world.roles.items())),
        start_ts=start_ts, end_ts=end_ts)


def _late(world: World, category: str, index: int, m: MarketSim, out: list[Episode]) -> Task:
    """Start the episode's script only when its time comes (it reads the book then)."""
    yield from episode_task(world, category, index, m, out)


class SyntheticStream(Iterator[MarketEvent]):
    """The lazy event stream of :func:`generate_stream` (an iterator of events).

    ``episodes`` collects the episodes planted so far; ``state_sizes()``
    reports what the simulation holds, to check that memory stays bounded.
    """

    def __init__(self, seed: int, n_events: int, n_markets: int, n_actors: int, *,
                 churn_per_hour: float, lifetime_s: float | None,
                 episodes_every_s: float | None, start_ts: int) -> None:
        if n_events < 0:
            raise ValueError("n_events must be >= 0")
        sims = _markets(n_markets)
        self._sim = Simulator(sims, start_ts)
        self._world = World(self._sim, seed, keep_departed=False)
        self._loop = _Loop(self._world, start_ts)
        if churn_per_hour > 0 and lifetime_s is None:
            lifetime_s = 3600.0
        for delay, task in populate(self._world, n_actors, churn_per_hour=churn_per_hour,
                                    lifetime_s=lifetime_s if churn_per_hour > 0 else None):
            self._loop.add(start_ts + delay, task)
        self.episodes: list[Episode] = []
        if episodes_every_s is not None and episodes_every_s > 0:
            self._loop.add(start_ts + int(episodes_every_s * NS),
                           _planter(self._world, list(sims.values()), episodes_every_s,
                                    self.episodes))
        self._events = self._loop.run()
        self.n_events = n_events
        self.count = 0

    def __iter__(self) -> SyntheticStream:
        return self

    def __next__(self) -> MarketEvent:
        if self.count >= self.n_events:
            raise StopIteration
        self.count += 1
        return next(self._events)

    def role(self, actor: str) -> str | None:
        """The role of a live actor: an abuse category for a planted episode's actors
        (also one still playing when the stream stops, or one its script gave up),
        else ``market_maker``, ``small``, ``directional`` and the like."""
        return self._world.roles.get(actor)

    def state_sizes(self) -> dict[str, int]:
        """Sizes of the simulation's state: resting orders, positions, live actors, tasks."""
        return {
            "resting_orders": len(self._sim.orders),
            "positions": len(self._sim.positions),
            "actors": len(self._world.roles),
            "tasks": len(self._loop._heap),
            "level_history": sum(len(m.shown_at) for m in self._sim.markets.values()),
        }


def generate_stream(seed: int = 42, n_events: int = 1_000_000, n_markets: int = 8,
                    n_actors: int = 200, *, churn_per_hour: float = 0.0,
                    lifetime_s: float | None = None, episodes_every_s: float | None = None,
                    start_ts: int = DEFAULT_START_TS) -> SyntheticStream:
    """``n_events`` synthetic events, made lazily with bounded memory (for benchmarks).

    The same ordinary flow as :func:`generate` over ``n_markets`` markets.
    ``churn_per_hour``: new small and directional traders arriving per hour
    of market time, each living ``lifetime_s`` (default one hour), so the
    number of distinct actors grows with the stream while the live ones stay
    bounded. ``episodes_every_s``: plant an episode (categories in turn, each
    in a market that can host it) that often; they collect in the stream's
    ``episodes``.
    """
    return SyntheticStream(seed, n_events, n_markets, n_actors, churn_per_hour=churn_per_hour,
                           lifetime_s=lifetime_s, episodes_every_s=episodes_every_s,
                           start_ts=start_ts)


def _planter(world: World, markets: list[MarketSim], every_s: float,
             out: list[Episode]) -> Task:
    k = 0
    while True:
        cat = CATEGORIES[k % len(CATEGORIES)]
        n = len(markets)
        m = next((markets[j % n] for j in range(k, k + n)
                  if cat in FEASIBLE[markets[j % n].spec.kind]), None)
        if m is not None:
            world.spawn(0, episode_task(world, cat, k // len(CATEGORIES), m, out))
        k += 1
        yield int(every_s * NS)
