"""A detector's own view of one market's L2 book, and order-book imbalance.

The engine gives detectors its live book through the context, but a
detector that needs to see *changes* level by level (a size appearing and
vanishing) keeps its own copy, fed by the same ``book.snapshot`` and
``book.delta`` events: a snapshot is diffed against the previous state so
venues that only send snapshots (Hyperliquid ``l2Book``) look like deltas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from horizon_flow_core.engine.context import EngineContext
from horizon_flow_core.events import MarketEvent

from .common import BUY, SELL

Level = tuple[float, float]
#: (side, price, old size, new size) of one level that changed.
LevelChange = tuple[str, float, float, float]


def set_level(levels: dict[float, float], price: float, size: float, old: float) -> float:
    """Set one level of one side to a venue's total ``size``; returns the size now shown.

    ``old`` is ``levels.get(price, 0.0)``, read by the caller, which needs it
    anyway. A negative size shows as 0 and a level at 0 is removed. The one
    implementation of a book delta, for :meth:`LevelBook.delta` and for the
    hot paths that look the level up themselves (no change tuple per delta).
    """
    new = 0.0 if size < 0.0 else size  # max(size, 0.0), NaN kept alike
    if new != old:
        if new > 0.0:
            levels[price] = new
        else:
            levels.pop(price, None)
    return new


class LevelBook:
    """Bids and asks of one market as ``{price: size}``; sizes are level totals."""

    __slots__ = ("bids", "asks")

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def levels(self, side: str) -> dict[float, float]:
        return self.bids if side == BUY else self.asks

    def size_at(self, side: str, price: float) -> float:
        return self.levels(side).get(price, 0.0)

    def delta(self, ev: MarketEvent) -> LevelChange | None:
        """Apply a ``book.delta``; the level change it made, or None (the hot path:
        most events of a feed are deltas, and this allocates nothing when nothing changed)."""
        side, price, size = ev.side, ev.price, ev.size
        if price is None or size is None:
            return None
        if side == BUY:
            book = self.bids
        elif side == SELL:
            book = self.asks
        else:
            return None
        old = book.get(price, 0.0)
        new = set_level(book, price, size, old)
        if new == old:
            return None
        return (side, price, old, new)

    def apply(self, ev: MarketEvent) -> list[LevelChange]:
        """Apply a book event; return the level changes it made, in a fixed order."""
        if ev.kind == "book.delta":
            change = self.delta(ev)
            return [] if change is None else [change]
        if ev.kind == "book.snapshot":
            changes: list[LevelChange] = []
            for side, levels in ((BUY, ev.bids or []), (SELL, ev.asks or [])):
                book = self.levels(side)
                fresh: dict[float, float] = {}
                for price, size in levels:
                    if size > 0:
                        fresh[price] = fresh.get(price, 0.0) + size
                for price in sorted(book.keys() | fresh.keys()):
                    old, new = book.get(price, 0.0), fresh.get(price, 0.0)
                    if old != new:
                        changes.append((side, price, old, new))
                book.clear()
                book.update(fresh)
            return changes
        return []

    def top(self, side: str, n: int) -> list[Level]:
        book = self.levels(side)
        prices = sorted(book, reverse=(side == BUY))[:n]
        return [(p, book[p]) for p in prices]

    def best(self, side: str) -> float | None:
        book = self.levels(side)
        if not book:
            return None
        return max(book) if side == BUY else min(book)

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)


def imbalance(side_depth: float, other_depth: float) -> float:
    """(S - O) / (S + O): +1 when all visible depth is on ``side``, 0 when balanced."""
    total = side_depth + other_depth
    return (side_depth - other_depth) / total if total > 0 else 0.0


def _depth(levels: Sequence[Any], n: int) -> float:
    total = 0.0
    for lv in levels[:n]:
        total += float(lv[1])
    return total


def _contains(levels: Sequence[Any], n: int, price: float) -> float:
    for lv in levels[:n]:
        if float(lv[0]) == price:
            return float(lv[1])
    return -1.0


def ctx_levels(ctx: Any, market_id: str, depth: int = 0
               ) -> tuple[Sequence[Any], Sequence[Any]] | None:
    """``(bids, asks)`` best first from the engine's context, or None when it has no book.

    ``depth`` > 0: the caller reads only the best ``depth`` levels a side, so
    in the engine's own context only those are taken from its live book
    (the full book's sort was most of a detector's cost on a deep book).
    """
    if depth > 0 and type(ctx) is EngineContext:
        live = ctx.book(market_id)
        if live is None:
            return None
        bids, asks = live.levels(depth)
    else:
        recent: Mapping[str, Any] | None = getattr(ctx, "recent_book", None)
        if recent is None:
            return None
        try:
            book = recent.get(market_id)
        except Exception:  # a context without a usable mapping: work from own state
            return None
        if not book:
            return None
        bids, asks = book
    if not bids and not asks:
        return None
    return bids, asks


def order_imbalance(
    side: str, price: float, size: float, levels: int, *,
    ctx_book: tuple[Sequence[Any], Sequence[Any]] | None,
    own_book: LevelBook | None,
    resting: tuple[float, float] | None = None,
) -> tuple[float, float, float, str]:
    """Imbalance toward ``side`` once an order of ``size`` at ``price`` rests.

    Depth is the top ``levels`` levels each side, from the engine's book when
    it has one, else the detector's own book, else ``resting`` (the known
    resting order sizes ``(side, other)``). The order is added unless the
    book already shows at least its size at its price (then it is in the book).
    Returns ``(imbalance, side_depth, other_depth, source)``.
    """
    if ctx_book is not None:
        bids, asks = ctx_book
        mine, other = (bids, asks) if side == BUY else (asks, bids)
        s, o = _depth(mine, levels), _depth(other, levels)
        at = _contains(mine, levels, price)
        source = "engine_book"
    elif own_book is not None and len(own_book):
        mine_l, other_l = own_book.top(side, levels), own_book.top(
            SELL if side == BUY else BUY, levels)
        s, o = _depth(mine_l, levels), _depth(other_l, levels)
        at = _contains(mine_l, levels, price)
        source = "own_book"
    elif resting is not None:
        return (imbalance(resting[0], resting[1]), resting[0], resting[1], "resting_orders")
    else:
        return (imbalance(size, 0.0), size, 0.0, "order_only")
    if at < size:  # the book does not show the order yet: add it
        s += size
    return imbalance(s, o), s, o, source
