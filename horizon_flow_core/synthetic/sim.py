"""A small price-time-priority matching engine that narrates itself as MarketEvents.

Every change it makes is emitted the way a venue with full attribution would
publish it, so the events are internally consistent: an order placement is
``order.placed`` plus the ``book.delta`` of its level; a cancellation is
``order.canceled`` (size = what was cancelled) plus the delta; an execution
is one ``order.filled`` per participant (each with its own order id and side,
the other party as counterparty, ``aggressor`` true for the taker), one
``trade.tape`` print (side = the aggressor's) and the delta of the maker's
level. ``quote.update`` follows any change of the best prices, and
``book.snapshot`` is emitted on request. An engine rebuilding its book from
these deltas and snapshots sees exactly the simulated book.

Prices are integer ticks inside the simulator (no float keys), converted to
the market's price grid on output.
"""

from __future__ import annotations

from typing import Final

from ..events import MarketEvent
from .model import MarketSpec

BUY: Final = "buy"
SELL: Final = "sell"
_EPS: Final = 1e-9
SNAPSHOT_LEVELS: Final = 10


class SimOrder:
    __slots__ = ("order_id", "actor", "side", "ticks", "size", "ts")

    def __init__(self, order_id: str, actor: str, side: str, ticks: int, size: float,
                 ts: int) -> None:
        self.order_id = order_id
        self.actor = actor
        self.side = side
        self.ticks = ticks
        self.size = size
        self.ts = ts


class MarketSim:
    """One market's book, fair value and last published quote."""

    __slots__ = ("spec", "bids", "asks", "fv", "impact", "last_quote", "market_id", "venue",
                 "tape_volume", "last_trade", "shown_at")

    def __init__(self, spec: MarketSpec) -> None:
        self.spec = spec
        self.market_id = spec.market_id
        self.venue = spec.venue
        self.bids: dict[int, list[SimOrder]] = {}
        self.asks: dict[int, list[SimOrder]] = {}
        #: fair value in ticks (float); market makers quote around it
        self.fv = float(spec.ticks(spec.start_price))
        #: ticks the fair value moves per unit of aggressive volume
        self.impact = 0.25 / spec.quote_size
        self.last_quote: tuple[int | None, int | None] = (None, None)
        self.tape_volume = 0.0
        #: price (ticks) of the last execution, None before the first
        self.last_trade: int | None = None
        #: (side, ticks) -> last time that level changed (pruned to minutes)
        self.shown_at: dict[tuple[str, int], int] = {}

    def side_levels(self, side: str) -> dict[int, list[SimOrder]]:
        return self.bids if side == BUY else self.asks

    def best(self, side: str) -> int | None:
        levels = self.bids if side == BUY else self.asks
        if not levels:
            return None
        return max(levels) if side == BUY else min(levels)

    def level_size(self, side: str, ticks: int) -> float:
        return sum(o.size for o in self.side_levels(side).get(ticks, ()))

    def first_at_touch(self, side: str) -> float:
        """Size of the first order in line at the best price of ``side`` (0 when empty)."""
        best = self.best(side)
        return 0.0 if best is None else self.side_levels(side)[best][0].size

    def depth(self, side: str, n: int) -> float:
        levels = self.side_levels(side)
        prices = sorted(levels, reverse=(side == BUY))[:n]
        return sum(o.size for p in prices for o in levels[p])

    def clamp(self, ticks: int) -> int:
        return min(max(ticks, self.spec.min_ticks), self.spec.max_ticks)


class Simulator:
    """Markets, resting orders, positions, and the event buffer the driver drains."""

    def __init__(self, markets: dict[str, MarketSim], start_ts: int) -> None:
        self.markets = markets
        self.now = start_ts
        self.out: list[MarketEvent] = []
        self.orders: dict[str, SimOrder] = {}
        #: (actor, market_id) -> signed position, from the actor's own fills
        self.positions: dict[tuple[str, str], float] = {}
        self._seq = 0
        self._oid = 0

    # ------------------------------------------------------------------ emission
    def _emit(self, m: MarketSim, kind: str, *, actor: str | None = None,
              counterparty: str | None = None, order_id: str | None = None,
              side: str | None = None, ticks: int | None = None, size: float | None = None,
              aggressor: bool | None = None) -> None:
        self._seq += 1
        price = None if ticks is None else m.spec.price(ticks)
        self.out.append(MarketEvent(
            m.venue, m.market_id, kind, self.now, self._seq, actor, counterparty, order_id, side,
            price, None if size is None else round(size, 6), aggressor))

    def _delta(self, m: MarketSim, side: str, ticks: int) -> None:
        size = m.level_size(side, ticks)
        m.shown_at[(side, ticks)] = self.now
        self._emit(m, "book.delta", side=side, ticks=ticks, size=size)

    def _after(self, m: MarketSim) -> None:
        """Publish a quote update when the best prices changed."""
        bb, ba = m.best(BUY), m.best(SELL)
        if (bb, ba) == m.last_quote or (bb is None and ba is None):
            m.last_quote = (bb, ba)
            return
        m.last_quote = (bb, ba)
        self._seq += 1
        spec = m.spec
        self.out.append(MarketEvent(
            m.venue, m.market_id, "quote.update", self.now, self._seq,
            bid=None if bb is None else spec.price(bb),
            ask=None if ba is None else spec.price(ba),
            bid_size=None if bb is None else round(m.level_size(BUY, bb), 6),
            ask_size=None if ba is None else round(m.level_size(SELL, ba), 6)))

    def snapshot(self, m: MarketSim) -> None:
        if len(m.shown_at) > 4096:  # keep the level history to the last few minutes
            cutoff = self.now - 300 * 1_000_000_000
            m.shown_at = {k: t for k, t in m.shown_at.items() if t >= cutoff}
        spec = m.spec
        bids = [(spec.price(p), round(sum(o.size for o in m.bids[p]), 6))
                for p in sorted(m.bids, reverse=True)[:SNAPSHOT_LEVELS]]
        asks = [(spec.price(p), round(sum(o.size for o in m.asks[p]), 6))
                for p in sorted(m.asks)[:SNAPSHOT_LEVELS]]
        self._seq += 1
        self.out.append(MarketEvent(m.venue, m.market_id, "book.snapshot", self.now, self._seq,
                                    bids=bids, asks=asks))

    def next_order_id(self) -> str:
        self._oid += 1
        return f"{self._oid:08d}"

    def position(self, actor: str, market_id: str) -> float:
        return self.positions.get((actor, market_id), 0.0)

    def forget(self, actor: str, market_ids: list[str]) -> None:
        """Drop a departed actor's positions (bounded memory under churn)."""
        for market_id in market_ids:
            self.positions.pop((actor, market_id), None)

    # ------------------------------------------------------------------ actions
    def place(self, m: MarketSim, actor: str, side: str, ticks: int, size: float, *,
              post_only: bool = False, ioc: bool = False, allow_self: bool = False,
              impact: bool = True) -> SimOrder | None:
        """Place a limit order; match what crosses; rest or (``ioc``) cancel the rest.

        ``post_only``: an order that would cross is rejected (nothing is
        emitted, None returned), as the venues' add-liquidity-only orders are.
        ``allow_self`` lets the order execute against the actor's own
        resting orders (a wash trade); otherwise those are cancelled first
        (self-trade prevention, as the venues do). ``impact``: whether its
        executions move the market's fair value. Returns the resting order.
        """
        size = round(size, 6)
        if size <= _EPS or ticks != m.clamp(ticks):
            return None
        other = SELL if side == BUY else BUY
        best_other = m.best(other)
        if post_only and best_other is not None and (
                (side == BUY and ticks >= best_other) or (side == SELL and ticks <= best_other)):
            return None
        oid = self.next_order_id()
        self._emit(m, "order.placed", actor=actor, order_id=oid, side=side, ticks=ticks,
                   size=size)
        remaining = self._match(m, actor, oid, side, ticks, size, allow_self, impact)
        if remaining > _EPS:
            if ioc:
                self._emit(m, "order.canceled", actor=actor, order_id=oid, side=side,
                           ticks=ticks, size=remaining)
            else:
                order = SimOrder(oid, actor, side, ticks, remaining, self.now)
                m.side_levels(side).setdefault(ticks, []).append(order)
                self.orders[oid] = order
                self._delta(m, side, ticks)
                self._after(m)
                return order
        self._after(m)
        return None

    def _match(self, m: MarketSim, actor: str, oid: str, side: str, ticks: int, size: float,
               allow_self: bool, impact: bool) -> float:
        other = SELL if side == BUY else BUY
        book = m.side_levels(other)
        remaining = size
        sign = 1.0 if side == BUY else -1.0
        while remaining > _EPS:
            best = m.best(other)
            if best is None or (side == BUY and best > ticks) or (side == SELL and best < ticks):
                break
            queue = book[best]
            while queue and remaining > _EPS:
                maker = queue[0]
                if maker.actor == actor and not allow_self:
                    queue.pop(0)
                    del self.orders[maker.order_id]
                    self._emit(m, "order.canceled", actor=actor, order_id=maker.order_id,
                               side=maker.side, ticks=best, size=maker.size)
                    continue
                q = min(remaining, maker.size)
                self._emit(m, "order.filled", actor=maker.actor, counterparty=actor,
                           order_id=maker.order_id, side=maker.side, ticks=best, size=q,
                           aggressor=False)
                self._emit(m, "order.filled", actor=actor, counterparty=maker.actor,
                           order_id=oid, side=side, ticks=best, size=q, aggressor=True)
                self._emit(m, "trade.tape", side=side, ticks=best, size=q)
                m.tape_volume += q
                m.last_trade = best
                key = (maker.actor, m.market_id)
                self.positions[key] = self.positions.get(key, 0.0) - sign * q
                key = (actor, m.market_id)
                self.positions[key] = self.positions.get(key, 0.0) + sign * q
                if impact:
                    m.fv += sign * q * m.impact
                maker.size = round(maker.size - q, 6)
                remaining = round(remaining - q, 6)
                if maker.size <= _EPS:
                    queue.pop(0)
                    del self.orders[maker.order_id]
            if not queue:
                del book[best]
            self._delta(m, other, best)
        return remaining

    def cancel(self, m: MarketSim, order: SimOrder) -> bool:
        """Cancel a resting order; False when it is gone already (filled)."""
        if self.orders.pop(order.order_id, None) is None:
            return False
        levels = m.side_levels(order.side)
        queue = levels[order.ticks]
        queue.remove(order)
        if not queue:
            del levels[order.ticks]
        self._emit(m, "order.canceled", actor=order.actor, order_id=order.order_id,
                   side=order.side, ticks=order.ticks, size=order.size)
        self._delta(m, order.side, order.ticks)
        self._after(m)
        return True

    def amend_size(self, m: MarketSim, order: SimOrder, new_size: float) -> bool:
        """Reduce a resting order's size in place (keeps its queue position)."""
        new_size = round(new_size, 6)
        if order.order_id not in self.orders or not _EPS < new_size < order.size:
            return False
        order.size = new_size
        self._emit(m, "order.amended", actor=order.actor, order_id=order.order_id,
                   side=order.side, ticks=order.ticks, size=new_size)
        self._delta(m, order.side, order.ticks)
        self._after(m)
        return True

    def take(self, m: MarketSim, actor: str, side: str, size: float, *, levels: int = 3,
             allow_self: bool = False, impact: bool = True) -> float:
        """A marketable order sweeping ``levels`` ticks from the touch; returns the filled size."""
        other = SELL if side == BUY else BUY
        best = m.best(other)
        if best is None:
            return 0.0
        limit = m.clamp(best + (levels - 1) if side == BUY else best - (levels - 1))
        before = self.position(actor, m.market_id)
        self.place(m, actor, side, limit, size, ioc=True, allow_self=allow_self, impact=impact)
        return abs(self.position(actor, m.market_id) - before)

    def is_resting(self, order: SimOrder | None) -> bool:
        return order is not None and order.order_id in self.orders
