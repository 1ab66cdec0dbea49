"""Planted abuse episodes: scripted tasks that play one pattern and record the truth.

Every script is a task (see :mod:`.flow`) acting on the same simulated book
as the ordinary participants, so the episode's events are woven into the
ordinary flow and the book a detector sees includes everyone's orders. Each
script sizes itself from the live book (depth, touch) so the pattern clears
the default thresholds of ``deployment.txt`` with a margin, and records an
:class:`Episode` (category, market, abusers, first and last event time) when
it ends.

The patterns, as the built-in detectors and their sources define them:

* spoofing: a genuine order on one side; a bait of >= 500 and >= 5x the
  genuine execution on the other, tilting the top-5 book imbalance past 0.3;
  the genuine order executes; the bait is cancelled within 2 s, unfilled.
* layering: >= 3 orders at successive price levels on one side, an execution
  on the other side, then every layer cancelled within 3 s.
* quote_stuffing: a burst of placements and cancels far away from the touch,
  tens of messages a second against the actor's own quiet baseline, with no
  executions.
* wash_trade: an actor crossing its own orders; a ring of wallets trading the
  same size back and forth so nobody's position changes.
* momentum_ignition: a rapid burst of aggressive orders sweeping the book
  one way, followers joining, then the same actor trading the other way into
  the move.
* iceberg: an order showing a small size at one price, refilled after each
  execution, so executions there far exceed the displayed size.
* split_order: a large parent worked as many child orders of near-identical
  size on one side at a regular cadence.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from typing import Final

from .flow import NS, Task, World, available, round_size
from .model import Episode
from .sim import BUY, SELL, MarketSim, SimOrder

MS: Final = 1_000_000

CATEGORIES: Final[tuple[str, ...]] = (
    "spoofing", "layering", "quote_stuffing", "wash_trade", "momentum_ignition", "iceberg",
    "split_order",
)


def _opposite(side: str) -> str:
    return SELL if side == BUY else BUY


def _ms(rng: random.Random, lo: float, hi: float) -> int:
    return int(rng.uniform(lo, hi) * MS)


def _inside(m: MarketSim, side: str) -> int | None:
    """One tick better than the touch on ``side``, strictly inside the spread, or None.

    An order there is alone at its price, so the next order from the other
    side trades with it first: what the scripts need to control who meets whom.
    """
    best, other = m.best(side), m.best(_opposite(side))
    if best is None or other is None:
        return None
    ticks = best + 1 if side == BUY else best - 1
    if ticks >= other if side == BUY else ticks <= other:
        return None
    return ticks


def _room(m: MarketSim, side: str, tries: int = 20, join: bool = True
          ) -> Generator[int, None, int | None]:
    """A price improving ``side`` inside the spread, waiting up to ``tries`` half-seconds.

    When the spread stays one tick wide: the touch itself (``join``: the
    order queues behind the others there, and whoever trades with it must
    take the whole level), or None.
    """
    for _ in range(tries):
        ticks = _inside(m, side)
        if ticks is not None:
            return ticks
        yield 500 * MS
    return m.best(side) if join else None


def _fresh_inside(m: MarketSim, side: str, quiet_since: int) -> int | None:
    """A price strictly inside the spread, untouched since ``quiet_since``.

    The one nearest the fair value: market makers quote a spread away from
    it, so nobody else is likely to join the level there.
    """
    best, other = m.best(side), m.best(_opposite(side))
    if best is None or other is None:
        return None
    lo, hi = (best + 1, other - 1) if side == BUY else (other + 1, best - 1)
    for ticks in sorted(range(lo, hi + 1), key=lambda t: (abs(t - m.fv), t)):
        if m.shown_at.get((side, ticks), quiet_since - 1) < quiet_since:
            return ticks
    return None


def _up_to(m: MarketSim, order: SimOrder) -> float:
    """What a taker must trade to fill ``order``: better prices, the queue ahead, the order."""
    side, ticks = order.side, order.ticks
    book = m.side_levels(side)
    better = sum(o.size for p, q in book.items()
                 if (p > ticks if side == BUY else p < ticks) for o in q)
    ahead = 0.0
    for o in book.get(ticks, ()):
        if o is order:
            break
        ahead += o.size
    return better + ahead + order.size


def _queue_ahead(m: MarketSim, order: SimOrder) -> float:
    """Size queued ahead of ``order`` at its own price."""
    ahead = 0.0
    for o in m.side_levels(order.side).get(order.ticks, ()):
        if o is order:
            break
        ahead += o.size
    return ahead


def _through(m: MarketSim, side: str, ticks: int) -> float:
    """Resting size on ``side`` at ``ticks`` or better: what a taker must take to reach it."""
    book = m.side_levels(side)
    return sum(o.size for p, q in book.items()
               if (p >= ticks if side == BUY else p <= ticks) for o in q)


def _counterparty(world: World, m: MarketSim, rng: random.Random, exclude: set[str]) -> str:
    """An ordinary trader of the market (or a fresh one) to take the other side."""
    pool = [a for a in world.takers[m.market_id] if a not in exclude]
    if pool:
        return pool[rng.randrange(len(pool))]
    return world.new_actor("small")


class _Record:
    """Collects the episode's extent and publishes it when the script ends."""

    def __init__(self, world: World, episode_id: str, category: str, m: MarketSim,
                 out: list[Episode]) -> None:
        self.world, self.episode_id, self.category, self.m, self.out = (
            world, episode_id, category, m, out)
        self.start = world.sim.now
        self.actors: list[str] = []

    def actor(self, role: str | None = None) -> str:
        actor = self.world.new_actor(role or self.category)
        self.actors.append(actor)
        return actor

    def done(self, description: str, **details: object) -> None:
        self.out.append(Episode(
            episode_id=self.episode_id, category=self.category, market_id=self.m.market_id,
            actor_ids=tuple(self.actors), start_ts=self.start, end_ts=self.world.sim.now,
            description=description, venue=self.m.venue, details=dict(details)))


# --------------------------------------------------------------------------- spoofing


def spoofing(world: World, m: MarketSim, rec: _Record, rng: random.Random) -> Task:
    sim = world.sim
    actor = rec.actor()
    bait_side = BUY if rng.random() < 0.5 else SELL
    side = _opposite(bait_side)
    genuine_ticks = yield from _room(m, side)
    if genuine_ticks is None:
        return
    genuine_size = round_size(m, m.spec.quote_size * rng.uniform(0.3, 0.6))
    rec.start = sim.now
    genuine = sim.place(m, actor, side, genuine_ticks, genuine_size, post_only=True)
    yield _ms(rng, 100, 400)
    best = m.best(bait_side)
    if genuine is None or best is None:
        return
    # Size the bait to tilt the top-5 book to an imbalance of about 0.6
    # (threshold 0.3: room for the book to move before the genuine order
    # trades), at least 500 and several times the genuine size.
    s_depth, o_depth = m.depth(bait_side, 5), m.depth(side, 5)
    bait_size = round_size(m, max(500.0 * rng.uniform(1.3, 2.0),
                                  6.0 * genuine_size * rng.uniform(1.2, 1.6),
                                  4.0 * o_depth - s_depth + 200.0))
    # One tick behind the touch: in the top of the book, without risk of trading.
    bait_ticks = best - 1 if bait_side == BUY else best + 1
    bait = sim.place(m, actor, bait_side, bait_ticks, bait_size, post_only=True)
    yield _ms(rng, 150, 500)
    cp = _counterparty(world, m, rng, {actor})
    if sim.is_resting(genuine):
        sim.place(m, cp, bait_side, genuine.ticks,
                  round_size(m, _through(m, side, genuine.ticks)), ioc=True)
    yield _ms(rng, 100, 600)
    if bait is not None:
        sim.cancel(m, bait)
    if sim.is_resting(genuine):
        sim.cancel(m, genuine)
    rec.done(f"bait {bait_side} {bait_size:g} beside a genuine {side} {genuine_size:g}, "
             f"cancelled once the genuine order traded",
             bait_side=bait_side, bait_size=bait_size, genuine_size=genuine_size)


# --------------------------------------------------------------------------- layering


def layering(world: World, m: MarketSim, rec: _Record, rng: random.Random) -> Task:
    sim = world.sim
    actor = rec.actor()
    layer_side = BUY if rng.random() < 0.5 else SELL
    side = _opposite(layer_side)
    genuine_ticks = yield from _room(m, side)
    best = m.best(layer_side)
    if genuine_ticks is None or best is None:
        return
    genuine_size = round_size(m, m.spec.quote_size * rng.uniform(0.3, 0.6))
    rec.start = sim.now
    genuine = sim.place(m, actor, side, genuine_ticks, genuine_size, post_only=True)
    yield _ms(rng, 80, 250)
    n_layers = rng.randint(3, 5)
    step = 1 if layer_side == BUY else -1
    gap = m.spec.level_gap_ticks
    # Each layer well under the 500 of a spoof bait: the size is in the number of levels.
    layer_size = round_size(m, m.spec.quote_size * rng.uniform(1.5, 2.5))
    layers: list[SimOrder] = []
    for i in range(n_layers):
        # One level behind the other: best - gap, best - 2 gap, ... for bids.
        order = sim.place(m, actor, layer_side, best - step * (i + 1) * gap, layer_size,
                          post_only=True)
        if order is not None:
            layers.append(order)
        yield _ms(rng, 20, 120)
    yield _ms(rng, 100, 400)
    cp = _counterparty(world, m, rng, {actor})
    if genuine is not None and sim.is_resting(genuine):
        sim.place(m, cp, layer_side, genuine.ticks,
                  round_size(m, _through(m, side, genuine.ticks)), ioc=True)
    yield _ms(rng, 100, 500)
    for order in layers:
        sim.cancel(m, order)
        yield _ms(rng, 5, 60)
    if genuine is not None and sim.is_resting(genuine):
        sim.cancel(m, genuine)
    rec.done(f"{len(layers)} {layer_side} layers of {layer_size:g} at successive levels, "
             f"cancelled after a genuine {side} {genuine_size:g} traded",
             layers=len(layers), layer_side=layer_side, layer_size=layer_size)


# --------------------------------------------------------------------------- quote stuffing


def quote_stuffing(world: World, m: MarketSim, rec: _Record, rng: random.Random) -> Task:
    sim = world.sim
    actor = rec.actor()
    # A quiet baseline first (the detector wants 30 s of history): a couple of
    # orders over a minute or two, far from the touch.
    for _ in range(2):
        side = BUY if rng.random() < 0.5 else SELL
        far = _far_ticks(m, side, rng)
        if far is not None:
            o = sim.place(m, actor, side, far, round_size(m, m.spec.quote_size * 0.2),
                          post_only=True)
            yield int(rng.uniform(10, 30) * NS)
            if o is not None:
                sim.cancel(m, o)
        yield int(rng.uniform(20, 40) * NS)
    rec.start = sim.now
    n = rng.randint(120, 200)
    for _ in range(n):
        side = BUY if rng.random() < 0.5 else SELL
        far = _far_ticks(m, side, rng)
        if far is None:
            continue
        o = sim.place(m, actor, side, far, round_size(m, m.spec.quote_size * 0.1), post_only=True)
        yield _ms(rng, 2, 8)
        if o is not None:
            sim.cancel(m, o)
        yield _ms(rng, 2, 8)
    rec.done(f"burst of {n} placements and cancels far from the touch in about "
             f"{(sim.now - rec.start) / NS:.1f} s, no executions", messages=2 * n)


def _far_ticks(m: MarketSim, side: str, rng: random.Random) -> int | None:
    best = m.best(side)
    if best is None:
        return None
    off = rng.randint(4, 8) * m.spec.level_gap_ticks
    return m.clamp(best - off if side == BUY else best + off)


# --------------------------------------------------------------------------- wash trades


def wash_self(world: World, m: MarketSim, rec: _Record, rng: random.Random) -> Task:
    sim = world.sim
    actor = rec.actor("wash_trade")
    rec.start = sim.now
    rounds = rng.randint(4, 7)
    size = round_size(m, m.spec.quote_size * rng.uniform(0.5, 1.0))
    crossed = 0
    for i in range(rounds):
        side = SELL if i % 2 == 0 else BUY
        # Alone inside the spread, so the cross meets nobody else.
        ticks = yield from _room(m, side, tries=240, join=False)
        if ticks is not None:
            order = sim.place(m, actor, side, ticks, size, post_only=True)
            if order is not None and sim.is_resting(order):
                sim.place(m, actor, _opposite(side), order.ticks, order.size, ioc=True,
                          allow_self=True)
                crossed += 1
            if order is not None and sim.is_resting(order):
                sim.cancel(m, order)
        yield int(rng.uniform(5, 20) * NS)
    rec.done(f"one account crossing its own orders {crossed} times, {size:g} each",
             rounds=crossed, size=size)


def wash_ring(world: World, m: MarketSim, rec: _Record, rng: random.Random) -> Task:
    sim = world.sim
    n = rng.choice((2, 3))
    ring = [rec.actor("wash_trade") for _ in range(n)]
    rec.start = sim.now
    rounds = n * rng.randint(4, 5)
    # Enough volume inside the ring to pass the 1000 minimum with room to spare.
    size = round_size(m, max(m.spec.quote_size * rng.uniform(0.6, 1.2), 1800.0 / rounds))
    done = 0
    for i in range(rounds):
        seller, buyer = ring[i % n], ring[(i + 1) % n]
        # Strictly inside the spread: the ring trades only with itself.
        ticks = yield from _room(m, SELL, tries=240, join=False)
        if ticks is not None:
            # A prearranged cross: the buyer takes the offer the instant it shows.
            order = sim.place(m, seller, SELL, ticks, size, post_only=True)
            if order is not None and sim.is_resting(order):
                sim.place(m, buyer, BUY, order.ticks, order.size, ioc=True)
                done += 1
            if order is not None and sim.is_resting(order):
                sim.cancel(m, order)
        yield int(rng.uniform(5, 25) * NS)
    rec.done(f"{n} wallets passing {size:g} around {done} times, each ending where it started",
             ring=n, rounds=done, size=size)


# --------------------------------------------------------------------------- momentum


def momentum_ignition(world: World, m: MarketSim, rec: _Record, rng: random.Random) -> Task:
    sim = world.sim
    actor = rec.actor()
    side = BUY if rng.random() < 0.5 else SELL
    other = _opposite(side)
    rec.start = sim.now
    start_touch = m.best(other)
    # Where the market last traded: the move is measured from there.
    ref = m.last_trade if m.last_trade is not None else start_touch
    if ref is None:
        return
    step = 1 if side == BUY else -1
    bought = 0.0
    peak = None
    pushes = 0
    for _ in range(12):
        # Take the whole touch each time: the next price level becomes the touch;
        # go on until the price is two ticks past where it last traded.
        size = round_size(m, available(m, side, 1))
        if size > 0.01:
            bought += sim.take(m, actor, side, size, levels=1)
            peak = m.last_trade
            pushes += 1
        if pushes >= 4 and peak is not None and (peak - ref) * step >= 2:
            break
        yield _ms(rng, 150, 350)
    # Offer the position back at the price the burst reached (beyond where the
    # move began, which is what makes the unwind pay)...
    if peak is None:
        return
    best_same = m.best(side)
    if best_same is not None:
        peak = max(peak, best_same + 1) if side == BUY else min(peak, best_same - 1)
    unwind: list[SimOrder] = []
    order = sim.place(m, actor, other, peak, round_size(m, bought * rng.uniform(0.8, 0.95)),
                      post_only=True)
    if order is not None:
        unwind.append(order)
    # ... where the followers the move attracted trade with it.
    for order in unwind:
        for _ in range(4):
            if not sim.is_resting(order):
                break
            yield _ms(rng, 300, 1200)
            cp = _counterparty(world, m, rng, {actor})
            size = min(_through(m, other, order.ticks), order.size + m.spec.quote_size)
            sim.place(m, cp, side, order.ticks, round_size(m, size), ioc=True)
    yield _ms(rng, 500, 2000)
    for order in unwind:
        if sim.is_resting(order):
            sim.cancel(m, order)
    unwound = abs(sim.position(actor, m.market_id) - bought * (1 if side == BUY else -1))
    end_touch = m.best(other)
    rec.done(f"{pushes} aggressive {side}s ({bought:g}) moving the touch, then {unwound:g} "
             f"sold back to followers" if side == BUY else
             f"{pushes} aggressive {side}s ({bought:g}) moving the touch, then {unwound:g} "
             f"bought back from followers", side=side, volume=bought, unwound=unwound,
             start_touch=None if start_touch is None else m.spec.price(start_touch),
             end_touch=None if end_touch is None else m.spec.price(end_touch))


# --------------------------------------------------------------------------- iceberg


def iceberg(world: World, m: MarketSim, rec: _Record, rng: random.Random) -> Task:
    sim = world.sim
    actor = rec.actor()
    side = SELL if rng.random() < 0.5 else BUY
    # A price inside the spread that has shown nothing for a while, so the
    # level's displayed size is the iceberg's tip alone.
    # (A minute is how long a level's history lasts for the iceberg detector.)
    ticks = None
    for i in range(480):
        for s in (side, _opposite(side)):
            ticks = _fresh_inside(m, s, sim.now - 61 * NS)
            if ticks is None and i >= 360:  # a busy market: any price inside the spread
                ticks = _inside(m, s)
            if ticks is not None:
                side = s
                break
        if ticks is not None:
            break
        yield 500 * MS
    if ticks is None:
        return
    taker_side = _opposite(side)
    shown = round_size(m, m.spec.quote_size * rng.uniform(0.5, 0.8))
    target = rng.randint(9, 12)
    rec.start = sim.now
    refills = 0
    order = sim.place(m, actor, side, ticks, shown, post_only=True)
    before = sim.position(actor, m.market_id)
    while order is not None and refills < target:
        # Takers arrive quickly: a visible, repeatedly refilled offer draws them.
        yield _ms(rng, 30, 150) if refills == 0 else _ms(rng, 150, 700)
        # The takers this scene is about trade with the iceberg's slice: when
        # a market maker's quote sits ahead of it at the level, they come a
        # moment later, once it has moved away.
        for _ in range(10):
            if not _queue_ahead(m, order):
                break
            yield 300 * MS
        # Someone takes the displayed slice (and whatever is ahead of it). The
        # hidden size absorbs the flow, so the price does not move: that is
        # what an iceberg is for.
        cp = _counterparty(world, m, rng, {actor})
        sim.place(m, cp, taker_side, ticks, round_size(m, _up_to(m, order)), ioc=True,
                  impact=False)
        if sim.is_resting(order):
            continue
        yield _ms(rng, 20, 200)
        # The hidden reserve shows the next slice at the same price (once the
        # other side, if it came to that price, has moved off it again).
        for _ in range(30):
            order = sim.place(m, actor, side, ticks, shown, post_only=True)
            if order is not None:
                refills += 1
                break
            yield 300 * MS
    if order is not None and sim.is_resting(order):
        sim.cancel(m, order)
    executed = abs(sim.position(actor, m.market_id) - before)
    if refills < 3:
        return  # the market never let it work: not an iceberg, and not in the ground truth
    rec.done(f"{side} iceberg showing {shown:g} at {m.spec.price(ticks):g}, refilled "
             f"{refills} times ({executed:g} executed)", shown=shown, executed=executed,
             refills=refills, price=m.spec.price(ticks))


# --------------------------------------------------------------------------- split order


def split_order(world: World, m: MarketSim, rec: _Record, rng: random.Random) -> Task:
    sim = world.sim
    actor = rec.actor()
    side = BUY if rng.random() < 0.5 else SELL
    n = rng.randint(13, 17)
    # Children alike in size, adding up to well past the 1000 minimum.
    child = round_size(m, max(m.spec.quote_size * rng.uniform(0.5, 0.9), 1700.0 / n))
    cadence = rng.uniform(12.0, 24.0)
    rec.start = sim.now
    done = 0.0
    children = 0
    for _ in range(2 * n):
        if children >= n:
            break
        size = round_size(m, child * rng.uniform(0.97, 1.03))
        for _ in range(5):  # a thin book: wait a moment for the makers to requote
            if available(m, side, 3) >= size:
                break
            yield 2 * NS
        size = min(size, round_size(m, available(m, side, 3)))
        if size > 0.5 * child:
            done += sim.take(m, actor, side, size, levels=3)
            children += 1
        yield int(cadence * rng.uniform(0.9, 1.1) * NS)
    rec.done(f"parent {side} of {done:g} worked as {children} children of about {child:g} "
             f"every {cadence:.0f} s", side=side, children=children, child_size=child,
             total=done)


# --------------------------------------------------------------------------- registry

Script = Callable[[World, MarketSim, _Record, random.Random], Task]

SCRIPTS: Final[dict[str, tuple[Script, ...]]] = {
    "spoofing": (spoofing,),
    "layering": (layering,),
    "quote_stuffing": (quote_stuffing,),
    "wash_trade": (wash_self, wash_ring),
    "momentum_ignition": (momentum_ignition,),
    "iceberg": (iceberg,),
    "split_order": (split_order,),
}

#: Longest an episode script runs, in seconds, for scheduling them apart.
DURATION_S: Final[dict[str, float]] = {
    "spoofing": 5.0, "layering": 5.0, "quote_stuffing": 150.0, "wash_trade": 300.0,
    "momentum_ignition": 20.0, "iceberg": 120.0, "split_order": 420.0,
}

#: Categories a market kind can host with the default thresholds. Momentum
#: ignition needs a 1% move within 5 s: one tick in a prediction market, but
#: hundreds of ticks through the crypto perp's ladder, which no burst of the
#: simulated book can sweep.
FEASIBLE: Final[dict[str, frozenset[str]]] = {
    "prediction": frozenset(CATEGORIES),
    "crypto": frozenset(CATEGORIES) - {"momentum_ignition"},
}


def episode_task(world: World, category: str, index: int, m: MarketSim,
                 out: list[Episode]) -> Task:
    """The task playing the ``index``-th planted episode of ``category`` in market ``m``."""
    scripts = SCRIPTS[category]
    script = scripts[index % len(scripts)]
    rng = world.rng()
    try:
        # Every script reads the touch: wait (briefly) for a two-sided book.
        for _ in range(240):
            if m.best(BUY) is not None and m.best(SELL) is not None:
                break
            yield 500 * MS
        rec = _Record(world, f"{category}-{index + 1}", category, m, out)
        yield from script(world, m, rec, rng)
    finally:
        # Played or not (a script gives up when the book never lets it),
        # the driver counts it as over.
        world.episodes_over += 1

