"""Per-market rolling state: recent trades, book snapshots, orders and the live book.

Bounded by ``max_trades_per_market``, ``max_book_snapshots_per_market`` and
``max_orders_per_market`` so memory is predictable under long observation;
markets idle longer than the eviction horizon are dropped whole.

``owners`` maps the ids of recently placed orders (the last
``max_orders_per_market`` placements) to the actors that placed them, so an
order event naming only its order (a cancel confirmation, an amend) can be
given its actor.
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Any

from ..events import MarketEvent
from .book import L2Book, Level

Trade = tuple[float, float, str | None, int]


class MarketState:
    __slots__ = ("book", "last_ts", "market_id", "max_owners", "orders", "owners", "snapshots",
                 "trades")

    def __init__(self, market_id: str, max_trades: int, max_snapshots: int,
                 max_orders: int) -> None:
        self.market_id = market_id
        self.trades: deque[Trade] = deque(maxlen=max_trades)
        self.snapshots: deque[tuple[list[Level], list[Level], int]] = deque(maxlen=max_snapshots)
        self.orders: deque[MarketEvent] = deque(maxlen=max_orders)
        self.owners: dict[str, str] = {}
        self.max_owners = max(max_orders, 10)
        self.book = L2Book()
        self.last_ts = 0

    def forget_oldest_owners(self) -> None:
        """Past ``max_owners``: drop the oldest tenth at once. One at a time would
        rescan the slots of every id already dropped from the front of the dict."""
        owners = self.owners
        for oid in list(islice(owners, len(owners) - self.max_owners + self.max_owners // 10)):
            del owners[oid]


class AttrView:
    """``view[market_id]`` -> one attribute of that market's state (read-only)."""

    __slots__ = ("_attr", "_markets")

    def __init__(self, markets: dict[str, MarketState], attr: str) -> None:
        self._markets = markets
        self._attr = attr

    def _value(self, st: MarketState) -> Any:
        return getattr(st, self._attr)

    def __getitem__(self, market_id: str) -> Any:
        return self._value(self._markets[market_id])

    def get(self, market_id: str, default: Any = None) -> Any:
        st = self._markets.get(market_id)
        return default if st is None else self._value(st)

    def __contains__(self, market_id: object) -> bool:
        return market_id in self._markets

    def __iter__(self) -> Any:
        return iter(self._markets)

    def __len__(self) -> int:
        return len(self._markets)

    def keys(self) -> Any:
        return self._markets.keys()


class BookView(AttrView):
    """``recent_book[market_id] -> (bids, asks)`` best first, built on access."""

    __slots__ = ()

    def __init__(self, markets: dict[str, MarketState]) -> None:
        super().__init__(markets, "book")

    def _value(self, st: MarketState) -> Any:
        return st.book.levels()
