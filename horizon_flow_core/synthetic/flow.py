"""Ordinary market participants: what a surveillance system must NOT flag.

Each participant is a *task*: a generator that acts on the simulator and
yields how many nanoseconds to sleep before it acts again. Each task draws
from its own ``random.Random`` (seeded from the world's), so adding or
removing one participant does not reshuffle every other's decisions.

* market makers quote two or three levels a side around the market's fair
  value, lean their quotes against their inventory and hedge it back when it
  grows, so their inventory mean-reverts. Some cancel and requote every
  second (legitimately: high cancel ratio, steady rate, no bait);
* small traders take a little liquidity now and then, or rest a small limit
  order they cancel minutes later;
* directional traders work a position one way with irregular timing and
  widely varying sizes (unlike a split parent order);
* a fair-value walk per market, and periodic book snapshots.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Generator
from typing import Final

from .model import CRYPTO
from .sim import BUY, SELL, MarketSim, SimOrder, Simulator

Task = Generator[int, None, None]

NS: Final = 1_000_000_000


def exp_ns(rng: random.Random, mean_s: float) -> int:
    """An exponential waiting time in ns (at least 1 ms, so time always advances)."""
    return max(1_000_000, int(rng.expovariate(1.0 / mean_s) * NS))


def round_size(m: MarketSim, size: float) -> float:
    # Prediction-market shares and coins both trade in 0.01 steps here.
    return max(round(size, 2), 0.01)


class World:
    """The simulator plus what tasks share: rngs, roles, the participants per market."""

    def __init__(self, sim: Simulator, seed: int, *, keep_departed: bool = True) -> None:
        self.sim = sim
        #: keep roles of actors that left (a scenario's ground truth); a long
        #: benchmark stream with churn drops them to stay bounded
        self.keep_departed = keep_departed
        self.seed = seed
        self._master = random.Random(seed)
        self.roles: dict[str, str] = {}
        #: ordinary takers active in each market (counterparties for episodes)
        self.takers: dict[str, list[str]] = {m: [] for m in sim.markets}
        self.makers: dict[str, list[str]] = {m: [] for m in sim.markets}
        self._actor_n = 0
        #: tasks created while running (actor churn); the driver schedules them
        self.spawned: list[tuple[int, Task]] = []
        #: planted episode scripts that have ended (played or given up)
        self.episodes_over = 0

    def rng(self) -> random.Random:
        return random.Random(self._master.getrandbits(64))

    def new_actor(self, role: str) -> str:
        """A wallet-like id, derived from the seed and a counter (stable across runs)."""
        self._actor_n += 1
        digest = hashlib.sha256(f"{self.seed}:{self._actor_n}".encode()).hexdigest()
        actor = "0x" + digest[:40]
        self.roles[actor] = role
        return actor

    def spawn(self, delay_ns: int, task: Task) -> None:
        self.spawned.append((delay_ns, task))

    def leave(self, actor: str, market_ids: list[str]) -> None:
        self.sim.forget(actor, market_ids)
        if not self.keep_departed:
            self.roles.pop(actor, None)


# --------------------------------------------------------------------------- market


def fair_value_task(world: World, m: MarketSim) -> Task:
    rng = world.rng()
    spec = m.spec
    lo, hi = spec.min_ticks + 2, spec.max_ticks - 2
    anchor = float(spec.ticks(spec.start_price))
    while True:
        yield exp_ns(rng, 2.0)
        # A random walk pulled slowly back to the market's consensus (half-life
        # about two minutes), so a day of one-sided flow cannot run it to 0 or 1.
        pull = 0.01 * (anchor - m.fv)
        m.fv = min(max(m.fv + pull + rng.gauss(0.0, spec.volatility_ticks), lo), hi)


def snapshot_task(world: World, m: MarketSim, interval_s: float) -> Task:
    rng = world.rng()
    yield int(rng.uniform(0.5, 1.0) * interval_s * NS)
    while True:
        world.sim.snapshot(m)
        yield int(interval_s * NS)


# --------------------------------------------------------------------------- makers


def market_maker_task(world: World, m: MarketSim, actor: str, *, cancel_heavy: bool = False,
                      fast: bool = False) -> Task:
    rng = world.rng()
    sim = world.sim
    spec = m.spec
    world.makers[m.market_id].append(actor)
    levels = rng.choice((2, 3))
    base = spec.quote_size * rng.uniform(0.6, 1.3)
    half = spec.spread_ticks + rng.choice((0, 0, 1))
    gap = spec.level_gap_ticks
    limit = 1.5 * base
    last_hedge = -(10**18)
    # Quoting runs on a timer (with jitter), as market-making engines do.
    requote_s = (rng.uniform(1.5, 3.0) if cancel_heavy or fast else rng.uniform(3.0, 9.0))
    quotes: dict[tuple[str, int], SimOrder] = {}
    yield int(rng.uniform(0.0, 2.0) * NS)
    while True:
        inv = sim.position(actor, m.market_id)
        if abs(inv) > limit and sim.now - last_hedge > 6 * NS:
            # Over its limit: lay some off at the touch, one execution at most
            # every six seconds, never sweeping the book (it stands for
            # hedging elsewhere, so no price impact).
            side = SELL if inv > 0 else BUY
            first = m.first_at_touch(SELL if side == BUY else BUY)
            size = round_size(m, min(abs(inv) - 0.3 * limit, first))
            if size > 0.01:  # one execution against the first order in line
                sim.take(m, actor, side, size, levels=1, impact=False)
                last_hedge = sim.now
            inv = sim.position(actor, m.market_id)
        # ... and lean the quotes gently against the position (a fill moves
        # them a fraction of a tick, so most quotes stay where they are).
        skew = max(-1.0, min(1.0, inv / (3.0 * limit))) * (half + 1)
        center = int(round(m.fv - skew))
        desired: dict[tuple[str, int], float] = {}
        for i in range(levels):
            size = round_size(m, base * (1.0 + 0.4 * i) * rng.uniform(0.85, 1.15))
            desired[(BUY, m.clamp(center - half - i * gap))] = size
            desired[(SELL, m.clamp(center + half + i * gap))] = size
        for key, order in sorted(quotes.items()):
            if not sim.is_resting(order):
                del quotes[key]
            elif cancel_heavy or key not in desired or order.size < 0.3 * desired[key]:
                sim.cancel(m, order)
                del quotes[key]
            elif rng.random() < 0.05:
                sim.amend_size(m, order, round_size(m, order.size * 0.7))
        best_bid, best_ask = m.best(BUY), m.best(SELL)
        for (side, ticks), size in sorted(desired.items()):
            # A stale order across our fair value: quote just behind it rather
            # than cross it (our orders are add-liquidity-only).
            if side == BUY and best_ask is not None and ticks >= best_ask:
                ticks = best_ask - 1
            elif side == SELL and best_bid is not None and ticks <= best_bid:
                ticks = best_bid + 1
            if (side, ticks) in quotes:
                continue
            placed = sim.place(m, actor, side, ticks, size, post_only=True)
            if placed is not None:  # None: off the price grid
                quotes[(side, ticks)] = placed
        yield int(requote_s * rng.uniform(0.8, 1.2) * NS)


def available(m: MarketSim, side: str, levels: int) -> float:
    """Size a marketable order on ``side`` can take within ``levels`` ticks of the touch."""
    other = SELL if side == BUY else BUY
    best = m.best(other)
    if best is None:
        return 0.0
    book = m.side_levels(other)
    if side == BUY:
        return sum(o.size for p in range(best, best + levels) for o in book.get(p, ()))
    return sum(o.size for p in range(best - levels + 1, best + 1) for o in book.get(p, ()))


# --------------------------------------------------------------------------- takers


def small_trader_task(world: World, markets: list[MarketSim], actor: str, *,
                      lifetime_s: float | None = None) -> Task:
    rng = world.rng()
    sim = world.sim
    for m in markets:
        world.takers[m.market_id].append(actor)
    mean_gap = rng.uniform(60.0, 300.0)
    resting: list[tuple[int, MarketSim, SimOrder]] = []
    end = None if lifetime_s is None else sim.now + int(lifetime_s * NS)
    next_act = sim.now + exp_ns(rng, mean_gap)
    while end is None or sim.now < end:
        for item in list(resting):
            cancel_at, mk, order = item
            if not sim.is_resting(order):
                resting.remove(item)
            elif sim.now >= cancel_at:
                sim.cancel(mk, order)
                resting.remove(item)
        if sim.now >= next_act:
            m = markets[rng.randrange(len(markets))]
            side = BUY if rng.random() < 0.5 else SELL
            size = round_size(m, m.spec.quote_size * rng.lognormvariate(math.log(0.12), 0.6))
            if rng.random() < 0.7:
                size = min(size, round_size(m, available(m, side, 2)))
                if size > 0.01:
                    sim.take(m, actor, side, size, levels=2)
            else:
                best = m.best(side)
                if best is not None:
                    ticks = best - rng.randint(0, 3) if side == BUY else best + rng.randint(0, 3)
                    placed = sim.place(m, actor, side, ticks, size, post_only=True)
                    if placed is not None:
                        resting.append((sim.now + exp_ns(rng, 240.0), m, placed))
            next_act = sim.now + exp_ns(rng, mean_gap)
        wake = min([next_act] + [c for c, _, _ in resting])
        yield max(wake - sim.now, 1_000_000)
    for _, mk, order in resting:
        sim.cancel(mk, order)
    for m in markets:
        world.takers[m.market_id].remove(actor)
    world.leave(actor, [m.market_id for m in markets])


def directional_trader_task(world: World, m: MarketSim, actor: str, side: str, *,
                            lifetime_s: float | None = None) -> Task:
    rng = world.rng()
    sim = world.sim
    world.takers[m.market_id].append(actor)
    mean_gap = rng.uniform(30.0, 90.0)
    end = None if lifetime_s is None else sim.now + int(lifetime_s * NS)
    yield exp_ns(rng, mean_gap)
    while end is None or sim.now < end:
        # Sizes vary widely and timing is irregular: conviction, not an algorithm.
        size = round_size(m, m.spec.quote_size * rng.lognormvariate(math.log(0.9), 1.0))
        if rng.random() < 0.8:
            size = min(size, round_size(m, available(m, side, 3)), 3.0 * m.spec.quote_size)
            if size > 0.01:
                sim.take(m, actor, side, size, levels=3)
        else:
            best = m.best(side)
            if best is not None:
                order = sim.place(m, actor, side, best, min(size, 3.0 * m.spec.quote_size),
                                  post_only=True)
                if order is not None:
                    yield exp_ns(rng, 90.0)
                    sim.cancel(m, order)
        yield exp_ns(rng, mean_gap)
    world.takers[m.market_id].remove(actor)
    world.leave(actor, [m.market_id])


# --------------------------------------------------------------------------- population


def populate(world: World, n_actors: int, *, churn_per_hour: float = 0.0,
             lifetime_s: float | None = None) -> list[tuple[int, Task]]:
    """The ordinary population over the world's markets: roughly a fifth makers.

    Returns ``(start delay, task)`` pairs. With ``churn_per_hour`` > 0, small
    and directional traders live ``lifetime_s`` and new ones arrive at that
    rate (new actor ids), as on a real venue.
    """
    sim = world.sim
    rng = world.rng()
    markets = list(sim.markets.values())
    tasks: list[tuple[int, Task]] = []
    for m in markets:
        tasks.append((0, fair_value_task(world, m)))
        tasks.append((0, snapshot_task(world, m, 30.0)))
    makers_per_market = max(2, n_actors // (5 * max(len(markets), 1)))
    for m in markets:
        for j in range(makers_per_market):
            heavy = j == 1  # one cancel-heavy maker per market
            fast = m.spec.kind == CRYPTO and j == 2
            role = "market_maker_fast" if fast else (
                "market_maker_cancel_heavy" if heavy else "market_maker")
            actor = world.new_actor(role)
            tasks.append((0, market_maker_task(world, m, actor, cancel_heavy=heavy, fast=fast)))
    rest = max(n_actors - makers_per_market * len(markets), 0)
    n_directional = max(len(markets), rest // 5)
    for i in range(rest):
        if i < n_directional:
            m = markets[i % len(markets)]
            side = BUY if rng.random() < 0.5 else SELL
            tasks.append((0, _directional(world, m, side, lifetime_s)))
        else:
            tasks.append((0, _small(world, markets, rng, lifetime_s)))
    if churn_per_hour > 0:
        tasks.append((0, churn_task(world, markets, churn_per_hour, lifetime_s or 3600.0)))
    return tasks


def _small(world: World, markets: list[MarketSim], rng: random.Random,
           lifetime_s: float | None) -> Task:
    actor = world.new_actor("small")
    k = 1 if rng.random() < 0.7 else 2
    picks = rng.sample(markets, min(k, len(markets)))
    return small_trader_task(world, picks, actor, lifetime_s=lifetime_s)


def _directional(world: World, m: MarketSim, side: str, lifetime_s: float | None) -> Task:
    actor = world.new_actor("directional")
    return directional_trader_task(world, m, actor, side, lifetime_s=lifetime_s)


def churn_task(world: World, markets: list[MarketSim], per_hour: float,
               lifetime_s: float) -> Task:
    rng = world.rng()
    while True:
        yield exp_ns(rng, 3600.0 / per_hour)
        if rng.random() < 0.8:
            world.spawn(0, _small(world, markets, rng, lifetime_s))
        else:
            m = markets[rng.randrange(len(markets))]
            side = BUY if rng.random() < 0.5 else SELL
            world.spawn(0, _directional(world, m, side, lifetime_s))
