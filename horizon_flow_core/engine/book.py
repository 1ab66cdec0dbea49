"""The live L2 book of one market, kept from snapshots and deltas.

Levels live in plain dicts (price -> size). The best price on each side is
cached and recomputed only when the best level is removed, so the common
updates (a level changes size, a new level behind the best) cost O(1).
"""

from __future__ import annotations

import heapq
from typing import Final

Level = tuple[float, float]
_DIRTY: Final = float("nan")


def _price(level: Level) -> float:
    return level[0]


def _neg_price(level: Level) -> float:
    return -level[0]


class L2Book:
    __slots__ = ("_ask", "_bid", "asks", "bids", "quote", "stale", "ts", "updates")

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self._bid: float | None = None
        self._ask: float | None = None
        #: last ``quote.update`` (bid, ask, bid_size, ask_size), used when the
        #: venue gives quotes but no depth
        self.quote: tuple[float | None, float | None, float | None, float | None] | None = None
        self.ts = 0
        self.updates = 0
        #: True after a feed gap until the next snapshot: the levels are unknown
        self.stale = False

    # -- updates ---------------------------------------------------------------
    def apply_snapshot(self, bids: list[Level], asks: list[Level], ts: int) -> None:
        self.bids = {p: s for p, s in bids if s > 0}
        self.asks = {p: s for p, s in asks if s > 0}
        self._bid = _DIRTY
        self._ask = _DIRTY
        self.ts = ts
        self.updates += 1
        self.stale = False

    def invalidate(self, ts: int) -> None:
        """Forget every level: after a feed gap the book is unknown until the next snapshot.

        Deltas that arrive before it would build a book from a wrong base, so
        they are ignored while ``stale``.
        """
        self.bids = {}
        self.asks = {}
        self._bid = None
        self._ask = None
        self.quote = None
        self.ts = ts
        self.stale = True

    def apply_delta(self, side: str, price: float, size: float, ts: int) -> None:
        """Set the level's total size (0 removes it). ``side`` is ``buy`` (bid) or ``sell``."""
        if self.stale:
            return
        self.ts = ts
        self.updates += 1
        if side == "buy":
            if size > 0:
                self.bids[price] = size
                best = self._bid
                if best is not None and best == best and price > best:  # not dirty
                    self._bid = price
                elif best is None:
                    self._bid = price
            elif self.bids.pop(price, None) is not None and price == self._bid:
                self._bid = _DIRTY
        else:
            if size > 0:
                self.asks[price] = size
                best = self._ask
                if best is not None and best == best and price < best:
                    self._ask = price
                elif best is None:
                    self._ask = price
            elif self.asks.pop(price, None) is not None and price == self._ask:
                self._ask = _DIRTY

    def apply_quote(self, bid: float | None, ask: float | None, bid_size: float | None,
                    ask_size: float | None, ts: int) -> None:
        self.quote = (bid, ask, bid_size, ask_size)
        self.ts = ts

    # -- reads -----------------------------------------------------------------
    def best_bid(self) -> float | None:
        b = self._bid
        if b is not None and b != b:  # dirty
            b = self._bid = max(self.bids) if self.bids else None
        if b is None and not self.bids and self.quote is not None:
            return self.quote[0]
        return b

    def best_ask(self) -> float | None:
        a = self._ask
        if a is not None and a != a:
            a = self._ask = min(self.asks) if self.asks else None
        if a is None and not self.asks and self.quote is not None:
            return self.quote[1]
        return a

    def mid(self) -> float | None:
        b, a = self.best_bid(), self.best_ask()
        if b is None or a is None:
            return None
        return (b + a) / 2.0

    def size_at(self, side: str, price: float) -> float:
        levels = self.bids if side == "buy" else self.asks
        size = levels.get(price)
        if size is not None:
            return size
        if self.quote is not None and not levels:
            q_bid, q_ask, q_bsz, q_asz = self.quote
            if side == "buy" and q_bid == price:
                return q_bsz or 0.0
            if side == "sell" and q_ask == price:
                return q_asz or 0.0
        return 0.0

    def depth(self, side: str) -> float:
        """Total resting size on one side."""
        return sum((self.bids if side == "buy" else self.asks).values())

    def levels(self, n: int = 0) -> tuple[list[Level], list[Level]]:
        """``(bids, asks)`` best first; ``n`` > 0 limits each side.

        With a limit well under the book's depth only the best ``n`` are
        selected (a heap, not a sort of the whole book): prices are distinct
        keys, so the result is the sorted book's first ``n``.
        """
        if n > 0:
            bids_d, asks_d = self.bids, self.asks
            bids = (heapq.nlargest(n, bids_d.items(), key=_price) if len(bids_d) > 2 * n
                    else sorted(bids_d.items(), key=_neg_price)[:n])
            asks = (heapq.nsmallest(n, asks_d.items(), key=_price) if len(asks_d) > 2 * n
                    else sorted(asks_d.items())[:n])
            return bids, asks
        return sorted(self.bids.items(), key=_neg_price), sorted(self.asks.items())

    def imbalance(self, n: int = 5) -> float | None:
        """(bid depth - ask depth) / total over the best ``n`` levels, in [-1, 1]."""
        bids, asks = self.levels(n)
        b = sum(s for _, s in bids)
        a = sum(s for _, s in asks)
        if b + a <= 0:
            return None
        return (b - a) / (b + a)

    def __repr__(self) -> str:
        return (f"L2Book(bid={self.best_bid()}, ask={self.best_ask()}, "
                f"levels={len(self.bids)}/{len(self.asks)})")
