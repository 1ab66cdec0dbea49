"""Scripted event sequences: a compact way to write market episodes in code.

Used by this plugin's tests and usable by synthetic feed generators::

    s = Script(venue="test", market="M")
    s.at(0).place("spoofer", "b1", "buy", 0.49, 5000)
    s.at(300).place("spoofer", "a1", "sell", 0.51, 100)
    s.at(400).execute(taker="x", taker_oid="t1", maker="spoofer", maker_oid="a1",
                      side="buy", price=0.51, size=100)
    s.at(900).cancel("b1")
    findings = drive(SpoofingDetector(), s.events)

Times are milliseconds from ``t0`` (integer nanoseconds). ``execute`` writes
an execution as the schema pins it: one ``order.filled`` per participant
(the other party as ``counterparty_id``, ``aggressor`` true for the taker)
plus one ``trade.tape`` print whose side is the aggressor's.
"""

from __future__ import annotations

from typing import Any

from horizon_flow_core.events import MarketEvent, make_event

from .common import NS_PER_MS, opposite

T0 = 1_732_147_200_000_000_000  # 2024-11-21T00:00:00Z


class Script:
    def __init__(self, venue: str = "test", market: str = "M", t0: int = T0) -> None:
        self.venue = venue
        self.market = market
        self.t0 = t0
        self.now = t0
        self.events: list[MarketEvent] = []
        self._open: dict[str, dict[str, Any]] = {}
        self._tx = 0

    # -- time ----------------------------------------------------------------
    def at(self, ms: float) -> Script:
        """Move the clock to ``ms`` milliseconds after t0 (never backwards)."""
        ts = self.t0 + int(round(ms * NS_PER_MS))
        if ts < self.now:
            raise ValueError(f"time goes backwards: {ms} ms")
        self.now = ts
        return self

    def after(self, ms: float) -> Script:
        self.now += int(round(ms * NS_PER_MS))
        return self

    def _emit(self, kind: str, market: str | None = None, **fields: Any) -> MarketEvent:
        ev = make_event(self.venue, market or self.market, kind, self.now, **fields)
        self.events.append(ev)
        return ev

    # -- orders --------------------------------------------------------------
    def place(self, actor: str | None, oid: str, side: str, price: float, size: float, *,
              market: str | None = None) -> Script:
        self._open[oid] = {"actor": actor, "side": side, "price": price, "size": size,
                           "market": market}
        self._emit("order.placed", market, actor_id=actor, order_id=oid, side=side,
                   price=price, size=size)
        return self

    def cancel(self, oid: str) -> Script:
        o = self._open.pop(oid)
        self._emit("order.canceled", o["market"], actor_id=o["actor"], order_id=oid,
                   side=o["side"], price=o["price"], size=o["size"])
        return self

    def amend(self, oid: str, *, price: float | None = None, size: float | None = None
              ) -> Script:
        o = self._open[oid]
        if price is not None:
            o["price"] = price
        if size is not None:
            o["size"] = size
        self._emit("order.amended", o["market"], actor_id=o["actor"], order_id=oid,
                   side=o["side"], price=o["price"], size=o["size"])
        return self

    def fill(self, actor: str | None, oid: str | None, side: str, price: float, size: float,
             *, counterparty: str | None = None, aggressor: bool | None = None,
             tx_hash: str | None = None, market: str | None = None) -> Script:
        """One participant's ``order.filled`` (reduces the order if this script placed it)."""
        if oid is not None and oid in self._open:
            o = self._open[oid]
            o["size"] -= size
            if o["size"] <= 1e-12:
                del self._open[oid]
        self._emit("order.filled", market, actor_id=actor, order_id=oid, side=side,
                   price=price, size=size, counterparty_id=counterparty, aggressor=aggressor,
                   tx_hash=tx_hash)
        return self

    def execute(self, *, taker: str, maker: str, side: str, price: float, size: float,
                taker_oid: str | None = None, maker_oid: str | None = None, tape: bool = True,
                market: str | None = None) -> Script:
        """A full execution: taker's and maker's fills plus the tape print."""
        self._tx += 1
        tx = f"0x{self._tx:064x}"
        self.fill(taker, taker_oid, side, price, size, counterparty=maker, aggressor=True,
                  tx_hash=tx, market=market)
        self.fill(maker, maker_oid, opposite(side) or "sell", price, size, counterparty=taker,
                  aggressor=False, tx_hash=tx, market=market)
        if tape:
            self.tape(price, size, side, tx_hash=tx, market=market)
        return self

    # -- market data ---------------------------------------------------------
    def tape(self, price: float, size: float, side: str | None = None, *,
             tx_hash: str | None = None, market: str | None = None) -> Script:
        self._emit("trade.tape", market, price=price, size=size, side=side, tx_hash=tx_hash)
        return self

    def delta(self, side: str, price: float, size: float, *, market: str | None = None
              ) -> Script:
        self._emit("book.delta", market, side=side, price=price, size=size)
        return self

    def snapshot(self, bids: list[tuple[float, float]], asks: list[tuple[float, float]], *,
                 market: str | None = None) -> Script:
        self._emit("book.snapshot", market, bids=[list(b) for b in bids],
                   asks=[list(a) for a in asks])
        return self

    def quote(self, bid: float, ask: float, bid_size: float, ask_size: float, *,
              market: str | None = None) -> Script:
        self._emit("quote.update", market, bid=bid, ask=ask, bid_size=bid_size,
                   ask_size=ask_size)
        return self
