"""FeedBuilder: scripted event sequences for detector tests, in readable steps."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from ..events import MarketEvent, make_event
from ..feeds.writer import write_events

NS_PER_MS = 1_000_000


class FeedBuilder:
    """Build a sequence of events with a moving clock.

    >>> fb = FeedBuilder(venue="test", market="M")
    >>> oid = fb.place("alice", "buy", 0.50, 100)
    >>> fb.advance(500).cancel("alice", oid)
    >>> len(fb.events)
    2
    """

    def __init__(self, venue: str = "test", market: str = "M", start_ts: int = 1_700_000_000 *
                 1_000_000_000, step_ms: float = 0.0) -> None:
        self.venue = venue
        self.market = market
        self.ts = start_ts
        self.step_ns = int(step_ms * NS_PER_MS)
        self.events: list[MarketEvent] = []
        self._oid = itertools.count(1)
        self._open: dict[str, MarketEvent] = {}

    # -- clock ---------------------------------------------------------------
    def advance(self, ms: float) -> FeedBuilder:
        self.ts += int(ms * NS_PER_MS)
        return self

    def at(self, ts: int) -> FeedBuilder:
        self.ts = ts
        return self

    def _add(self, kind: str, market: str | None = None, **fields: Any) -> MarketEvent:
        ev = make_event(self.venue, market or self.market, kind, self.ts,
                        seq=len(self.events) + 1, **fields)
        self.events.append(ev)
        self.ts += self.step_ns
        return ev

    # -- orders --------------------------------------------------------------
    def place(self, actor: str | None, side: str, price: float, size: float, *,
              order_id: str | None = None, market: str | None = None, **extra: Any) -> str:
        oid = order_id or f"o{next(self._oid)}"
        ev = self._add("order.placed", market, actor_id=actor, order_id=oid, side=side,
                       price=price, size=size, **extra)
        self._open[oid] = ev
        return oid

    def cancel(self, actor: str | None, order_id: str, size: float | None = None, *,
               market: str | None = None) -> FeedBuilder:
        placed = self._open.pop(order_id, None)
        if size is None and placed is not None:
            size = placed.size
        self._add("order.canceled", market or (placed.market_id if placed else None),
                  actor_id=actor, order_id=order_id,
                  side=placed.side if placed else None,
                  price=placed.price if placed else None, size=size)
        return self

    def amend(self, actor: str | None, order_id: str, *, price: float | None = None,
              size: float | None = None, market: str | None = None) -> FeedBuilder:
        placed = self._open.get(order_id)
        self._add("order.amended", market, actor_id=actor, order_id=order_id,
                  side=placed.side if placed else None, price=price, size=size)
        return self

    def fill(self, actor: str | None, side: str, price: float, size: float, *,
             counterparty: str | None = None, aggressor: bool = True,
             order_id: str | None = None, counter_order_id: str | None = None,
             market: str | None = None, tape: bool = True, tx_hash: str | None = None
             ) -> FeedBuilder:
        """An execution: one ``order.filled`` per known participant, plus the tape print."""
        other = "sell" if side == "buy" else "buy"
        self._add("order.filled", market, actor_id=actor, counterparty_id=counterparty,
                  order_id=order_id, side=side, price=price, size=size, aggressor=aggressor,
                  tx_hash=tx_hash)
        if counterparty is not None:
            self._add("order.filled", market, actor_id=counterparty, counterparty_id=actor,
                      order_id=counter_order_id, side=other, price=price, size=size,
                      aggressor=not aggressor, tx_hash=tx_hash)
        if tape:
            self._add("trade.tape", market, side=side if aggressor else other, price=price,
                      size=size, tx_hash=tx_hash)
        return self

    def tape(self, side: str | None, price: float, size: float, *,
             market: str | None = None) -> FeedBuilder:
        self._add("trade.tape", market, side=side, price=price, size=size)
        return self

    # -- book ----------------------------------------------------------------
    def snapshot(self, bids: list[tuple[float, float]], asks: list[tuple[float, float]], *,
                 market: str | None = None) -> FeedBuilder:
        self._add("book.snapshot", market, bids=[list(b) for b in bids],
                  asks=[list(a) for a in asks])
        return self

    def delta(self, side: str, price: float, size: float, *,
              market: str | None = None) -> FeedBuilder:
        self._add("book.delta", market, side=side, price=price, size=size)
        return self

    def quote(self, bid: float | None, ask: float | None, bid_size: float | None = None,
              ask_size: float | None = None, *, market: str | None = None) -> FeedBuilder:
        self._add("quote.update", market, bid=bid, ask=ask, bid_size=bid_size,
                  ask_size=ask_size)
        return self

    def gap(self, *, market: str | None = None, **extra: Any) -> FeedBuilder:
        self._add("feed.gap", market, extra=extra or None)
        return self

    # -- output --------------------------------------------------------------
    def write(self, path: str | Path) -> Path:
        write_events(path, self.events)
        return Path(path)
