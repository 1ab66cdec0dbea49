"""Size that appears at a book level and is withdrawn without trading: the
anonymous footprint of a spoof or layer.

On venues without actor identity in market data (Polymarket's market
channel, Kalshi, Hyperliquid's books) an order's placement and cancellation
are visible only as a level growing and shrinking. This tracker follows
each level that grew by at least ``min_added`` and, when the added size is
gone again, reports how much of it was cancelled rather than traded (tape
prints at that price explain the traded part), how long it lived and how
much traded elsewhere in the market meanwhile.

Cost per event is O(1) for deltas and prints (dict lookups), O(levels) for
snapshots; additions older than ``horizon_ns`` expire through a deque.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Final

import attrs

from horizon_flow_core.events import MarketEvent

from .book import LevelBook, LevelChange, imbalance, set_level
from .common import BUY, SELL

#: what most events return: nothing withdrawn
_NONE: Final[tuple[LevelWithdrawal, ...]] = ()


@attrs.define(slots=True)
class Addition:
    side: str
    price: float
    ts: int
    base: float  #: level size before the addition
    added: float
    imbalance: float
    side_depth: float
    other_depth: float
    tape_at_add: float  #: the market's cumulative tape volume when it appeared
    #: the cumulative volume of prints whose aggressor was on this side (they trade
    #: against the other side of the book) and of prints with no side, when it appeared
    toward_at_add: float = 0.0
    unsided_at_add: float = 0.0
    traded: float = 0.0  #: tape volume printed at this price since
    explained: float = 0.0  #: removals attributed to those prints
    canceled: float = 0.0


@attrs.frozen
class LevelWithdrawal:
    """Added size at one level that left the book, mostly by cancellation."""

    side: str
    price: float
    added_ts: int
    ts: int
    added: float
    canceled: float
    traded_at_level: float
    tape_elsewhere: float  #: market tape volume during its life, not at this price
    imbalance: float
    side_depth: float
    other_depth: float
    #: volume printed during its life by aggressors on its side, i.e. against the
    #: other side of the book (what a spoof or layer is there to help); None when
    #: prints without a side came meanwhile (then only tape_elsewhere is known)
    tape_toward: float | None = None

    @property
    def executed_against(self) -> float:
        """What traded against the other side during its life: ``tape_toward``, or
        every print elsewhere where prints named no side."""
        return self.tape_elsewhere if self.tape_toward is None else self.tape_toward

    @property
    def life_ns(self) -> int:
        return self.ts - self.added_ts


class MarketLevels:
    """One market's book and the additions followed in it."""

    __slots__ = ("book", "additions", "expiry", "tape", "last_ts", "grown_bid", "grown_ask",
                 "tape_buy", "tape_sell", "tape_unsided")

    def __init__(self) -> None:
        self.book = LevelBook()
        self.additions: dict[tuple[str, float], Addition] = {}
        self.expiry: deque[tuple[int, tuple[str, float], Addition]] = deque()
        self.tape = 0.0
        # the tape by its aggressor's side (and prints that name none)
        self.tape_buy = 0.0
        self.tape_sell = 0.0
        self.tape_unsided = 0.0
        self.last_ts = 0
        # size added to the bid and ask sides by deltas, in all (followed or not):
        # a withdrawal put straight back elsewhere on its side is a requote
        self.grown_bid = 0.0
        self.grown_ask = 0.0

    def grown(self, side: str) -> float:
        """Size added to ``side`` by book deltas so far (a running total)."""
        return self.grown_bid if side == BUY else self.grown_ask

    def keep_book(self, ev: MarketEvent) -> None:
        """Keep the book current and follow no additions (``intents`` False)."""
        self.last_ts = ev.ts
        kind = ev.kind
        if kind == "book.delta":
            # the hot path of identified markets: no change tuple (LevelBook.delta)
            price, size = ev.price, ev.size
            if price is not None and size is not None:
                side = ev.side
                book = self.book
                levels = book.bids if side == BUY else book.asks if side == SELL else None
                if levels is not None:
                    set_level(levels, price, size, levels.get(price, 0.0))
        elif kind != "trade.tape":
            self.book.apply(ev)
        if self.additions:
            self.additions.clear()
            self.expiry.clear()


class LevelIntentTracker:
    """Per-market level bookkeeping shared by the anonymous spoofing and layering paths."""

    def __init__(self, *, min_added: float, horizon_ns: int, depth_levels: int) -> None:
        self.min_added = min_added
        self.horizon_ns = horizon_ns
        self.depth_levels = depth_levels
        self._markets: dict[str, MarketLevels] = {}

    def book(self, market_id: str) -> LevelBook | None:
        m = self._markets.get(market_id)
        return m.book if m is not None else None

    def on_event(self, ev: MarketEvent, *, intents: bool = True) -> Sequence[LevelWithdrawal]:
        """Follow one event. ``intents`` False: only keep the book current (the
        caller has no use for withdrawals in this market, e.g. it is identified)."""
        if not intents:
            return self.keep_book(ev)
        m = self._markets.get(ev.market_id)
        if m is None:
            m = self._markets[ev.market_id] = MarketLevels()
        ts = m.last_ts = ev.ts
        q = m.expiry
        if q and q[0][0] < ts:
            self._expire(m, ts)
        kind = ev.kind
        if kind == "book.delta":
            # The hot path (about half of a feed), without LevelBook.delta's change
            # tuple: most deltas change a level that nobody follows.
            price, size = ev.price, ev.size
            if price is None or size is None:
                return _NONE
            side = ev.side
            if side == BUY:
                levels = m.book.bids
            elif side == SELL:
                levels = m.book.asks
            else:
                return _NONE
            old = levels.get(price, 0.0)
            new = set_level(levels, price, size, old)
            if new == old:
                return _NONE
            additions = m.additions
            if new > old:
                if side == BUY:
                    m.grown_bid += new - old
                else:
                    m.grown_ask += new - old
                if new - old < self.min_added:
                    if additions:
                        rec = additions.get((side, price))
                        if rec is not None:
                            rec.added += new - old
                    return _NONE  # growth too small to follow on its own
            elif not additions or (side, price) not in additions:
                return _NONE  # a shrinking level nobody follows
            return self._changed(m, ev, ((side, price, old, new),), False)
        if kind == "trade.tape":
            size = ev.size or 0.0
            m.tape += size
            aggressor = ev.side
            if aggressor == BUY:
                m.tape_buy += size
            elif aggressor == SELL:
                m.tape_sell += size
            else:
                m.tape_unsided += size
            if ev.price is not None and m.additions:
                for side in (BUY, SELL):
                    rec = m.additions.get((side, ev.price))
                    if rec is not None:
                        rec.traded += size
            return _NONE
        # The first picture of a book is its starting state, not size being added.
        initial = kind == "book.snapshot" and not len(m.book)
        return self._changed(m, ev, m.book.apply(ev), initial)

    def keep_book(self, ev: MarketEvent) -> Sequence[LevelWithdrawal]:
        """``on_event(ev, intents=False)``: keep the book current, follow no additions."""
        self.market(ev.market_id).keep_book(ev)
        return _NONE

    def grown(self, market_id: str, side: str) -> float:
        """:meth:`MarketLevels.grown` of a market (0 for one never seen)."""
        m = self._markets.get(market_id)
        return m.grown(side) if m is not None else 0.0

    def market(self, market_id: str) -> MarketLevels:
        """The state of one market, made on first use. A caller may hold on to it
        only until the next :meth:`evict_idle`, which can drop it."""
        m = self._markets.get(market_id)
        if m is None:
            m = self._markets[market_id] = MarketLevels()
        return m

    def _changed(self, m: MarketLevels, ev: MarketEvent, changes: Sequence[LevelChange],
                 initial: bool) -> list[LevelWithdrawal]:
        out: list[LevelWithdrawal] = []
        for side, price, old, new in changes:
            if initial:
                continue
            key = (side, price)
            rec = m.additions.get(key)
            if new > old:
                if new - old >= self.min_added:
                    # followed on its own, from the level as it stood: a large order
                    # joining a level where a smaller addition is still followed would
                    # otherwise be withdrawn only once that one is too
                    rec = self._new_addition(m, side, price, old, new, ev.ts)
                    m.additions[key] = rec
                    m.expiry.append((ev.ts + self.horizon_ns, key, rec))
                elif rec is not None:
                    rec.added += new - old
                continue
            if rec is None:
                continue
            removed = old - new
            explained = min(removed, max(rec.traded - rec.explained, 0.0))
            rec.explained += explained
            rec.canceled += removed - explained
            if new <= rec.base + 1e-9:
                del m.additions[key]
                if rec.canceled > 0:
                    # the market's running tape total minus two of its earlier values:
                    # float residue (1e-13 of nothing traded) is nothing, not a print
                    eps = 1e-9 * max(m.tape, 1.0)
                    elsewhere = m.tape - rec.tape_at_add - rec.traded
                    if elsewhere <= eps:
                        elsewhere = 0.0
                    toward: float | None = None
                    if m.tape_unsided - rec.unsided_at_add <= eps:
                        toward = (m.tape_buy if side == BUY else m.tape_sell) - rec.toward_at_add
                        if toward <= eps:
                            toward = 0.0
                    out.append(LevelWithdrawal(
                        side, price, rec.ts, ev.ts, rec.added, rec.canceled, rec.traded,
                        elsewhere, rec.imbalance, rec.side_depth, rec.other_depth, toward))
        return out

    def _new_addition(self, m: MarketLevels, side: str, price: float, old: float, new: float,
                      ts: int) -> Addition:
        other = SELL if side == BUY else BUY
        s = sum(sz for _, sz in m.book.top(side, self.depth_levels))
        if all(p != price for p, _ in m.book.top(side, self.depth_levels)):
            s += new - old
        o = sum(sz for _, sz in m.book.top(other, self.depth_levels))
        return Addition(side, price, ts, old, new - old, imbalance(s, o), s, o, m.tape,
                        toward_at_add=m.tape_buy if side == BUY else m.tape_sell,
                        unsided_at_add=m.tape_unsided)

    def _expire(self, m: MarketLevels, now: int) -> None:
        q = m.expiry
        while q and q[0][0] < now:
            _, key, rec = q.popleft()
            if m.additions.get(key) is rec:
                del m.additions[key]

    def evict_idle(self, before_ts: int) -> int:
        stale = [k for k, m in self._markets.items() if m.last_ts < before_ts]
        for k in stale:
            del self._markets[k]
        return len(stale)
