"""The read-only context detectors receive: one object, updated in place per event."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..events import MarketEvent
from ..profiles import ActorProfile
from .book import L2Book
from .state import AttrView, BookView, MarketState

if TYPE_CHECKING:
    from .engine import FlowEngine


class EngineContext:
    """Implements :class:`~horizon_flow_core.components.DetectorContext`.

    ``event`` is the event being processed, ``ingest_count`` its sequence,
    ``config`` the effective :class:`~horizon_flow_core.config.FlowConfig`.
    """

    __slots__ = ("_engine", "_markets", "config", "event", "ingest_count", "markets",
                 "recent_book", "recent_orders", "recent_snapshots", "recent_trades", "venue")

    def __init__(self, engine: FlowEngine, markets: dict[str, MarketState], config: Any) -> None:
        self._engine = engine
        self._markets = markets
        self.config = config
        self.venue = ""
        self.ingest_count = 0
        self.event: MarketEvent | None = None
        self.markets = MappingProxyType(markets)
        self.recent_trades = AttrView(markets, "trades")
        self.recent_orders = AttrView(markets, "orders")
        self.recent_snapshots = AttrView(markets, "snapshots")
        self.recent_book = BookView(markets)

    def book(self, market_id: str) -> L2Book | None:
        st = self._markets.get(market_id)
        return None if st is None else st.book

    def market(self, market_id: str) -> MarketState | None:
        return self._markets.get(market_id)

    def profile(self, venue: str, actor_id: str) -> ActorProfile | None:
        return self._engine.profile(venue, actor_id)

    @property
    def now_ts(self) -> int:
        return self.event.ts if self.event is not None else 0
