"""A detector context without an engine: for tests, tools and ``flow explain``.

It keeps what the engine's read-only context offers (recent tape prints,
recent order events, the live book per market) from the events it is shown,
so a detector can be driven on its own with exactly the interface it sees
inside :class:`~horizon_flow_core.engine.FlowEngine`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from horizon_flow_core.events import MarketEvent

from .book import LevelBook
from .common import BUY, SELL


class _BookView:
    """The slice of the engine's ``L2Book`` API the built-ins use."""

    def __init__(self, book: LevelBook) -> None:
        self._book = book

    def best_bid(self) -> float | None:
        return self._book.best(BUY)

    def best_ask(self) -> float | None:
        return self._book.best(SELL)

    def size_at(self, side: str, price: float) -> float:
        return self._book.size_at(side, price)


class _RecentBook(Mapping[str, tuple[list[tuple[float, float]], list[tuple[float, float]]]]):
    """``recent_book[market] -> (bids, asks)`` best first, built on access."""

    def __init__(self, books: dict[str, LevelBook], depth: int) -> None:
        self._books = books
        self._depth = depth

    def __getitem__(self, market_id: str) -> tuple[list[tuple[float, float]],
                                                   list[tuple[float, float]]]:
        book = self._books[market_id]
        return book.top(BUY, self._depth), book.top(SELL, self._depth)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._books))

    def __len__(self) -> int:
        return len(self._books)


class StandaloneContext:
    """Read-only context fed by :meth:`observe`; bounded like the engine's."""

    def __init__(self, venue: str = "", *, max_trades: int = 2000, max_orders: int = 2000,
                 book_depth: int = 50) -> None:
        self.venue = venue
        self.ingest_count = 0
        self._max_trades = max_trades
        self._max_orders = max_orders
        self.recent_trades: dict[str, deque[tuple[float, float, str | None, int]]] = {}
        self.recent_orders: dict[str, deque[MarketEvent]] = {}
        self._books: dict[str, LevelBook] = {}
        self.recent_book = _RecentBook(self._books, book_depth)

    def observe(self, ev: MarketEvent) -> None:
        self.ingest_count += 1
        if not self.venue:
            self.venue = ev.venue
        kind = ev.kind
        if kind == "trade.tape":
            q = self.recent_trades.get(ev.market_id)
            if q is None:
                q = self.recent_trades[ev.market_id] = deque(maxlen=self._max_trades)
            q.append((ev.price or 0.0, ev.size or 0.0, ev.side, ev.ts))
        elif kind.startswith("order."):
            oq = self.recent_orders.get(ev.market_id)
            if oq is None:
                oq = self.recent_orders[ev.market_id] = deque(maxlen=self._max_orders)
            oq.append(ev)
        elif kind in ("book.snapshot", "book.delta"):
            book = self._books.get(ev.market_id)
            if book is None:
                book = self._books[ev.market_id] = LevelBook()
            book.apply(ev)

    def book(self, market_id: str) -> _BookView | None:
        book = self._books.get(market_id)
        return _BookView(book) if book is not None else None

    def profile(self, venue: str, actor_id: str) -> Any:
        return None
