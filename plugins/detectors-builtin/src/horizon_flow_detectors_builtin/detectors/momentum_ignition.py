"""Momentum ignition: a burst of aggressive orders that moves the price,
then the same actor trading the other way into the move it started.

Commission Delegated Regulation (EU) 2016/522 Annex II §4 ("momentum
ignition": entering orders or a series of orders intended to start or
exacerbate a trend, and to encourage other participants to accelerate or
extend it, in order to create an opportunity to unwind a position at a
favourable price).

An *ignition* is, within ``burst_window_ms``, at least ``min_burst_trades``
aggressive executions by one actor on one side (``order.filled`` with
``aggressor`` true, or a ``trade.tape`` print naming its actor), of at least
``min_burst_volume``, making at least ``min_burst_share`` of the market's
volume meanwhile, while the market price moved at least
``min_price_move_ticks`` price increments (and ``min_price_move_pct``
percent, when set) in their direction. One tick is the least any trade that
clears a level moves a price, so it is no evidence of a push; the tick is
estimated per market as the smallest step seen between trade prices and
between adjacent levels of the engine's book. It fires when, within
``reversal_window_ms``, the same actor executes at least
``min_reversal_fraction`` of that volume on the other side at prices still
beyond where the move started.

Needs actor identity: on anonymous venues a move and its reversal cannot be
tied to one trader, and this detector stays silent there.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import attrs

from horizon_flow_core.events import MarketEvent
from horizon_flow_core.findings import AnomalyFinding

from ..book import ctx_levels
from ..common import (
    BUY,
    SELL,
    Threshold,
    Verdict,
    at_least,
    evaluate,
    fraction,
    make_finding,
    ms,
    ms_to_ns,
    non_negative,
    opposite,
    positive,
    r6,
)
from .base import DetectorBase

CITATION = (
    "Commission Delegated Regulation (EU) 2016/522 Annex II §4 (momentum ignition: orders "
    "intended to start or exacerbate a trend, to unwind a position at a favourable price)"
)


@attrs.frozen
class MomentumIgnitionConfig:
    """``[detectors.momentum_ignition]``."""

    #: Window in which the aggressive burst happens (windows.short_s).
    burst_window_ms: float = attrs.field(default=5000.0, validator=positive)
    #: Fewest aggressive orders in the burst (distinct order ids: one order sweeping
    #: several levels is one).
    min_burst_trades: int = attrs.field(default=3, validator=at_least(1))
    #: Smallest aggressive volume in the burst.
    min_burst_volume: float = attrs.field(default=100.0, validator=positive)
    #: Smallest price move in the burst's direction, in price increments (ticks).
    min_price_move_ticks: float = attrs.field(default=2.0, validator=non_negative)
    #: Smallest price move in percent of the price before it (0: not checked, except
    #: where no tick size could be estimated yet: then 1%).
    min_price_move_pct: float = attrs.field(default=0.0, validator=non_negative)
    #: Smallest share of the market's volume during the burst that was the actor's.
    min_burst_share: float = attrs.field(default=0.5, validator=fraction)
    #: Window after the burst in which the reversal must come (windows.medium_s).
    reversal_window_ms: float = attrs.field(default=60_000.0, validator=positive)
    #: Opposite-side volume over burst volume that counts as trading into the move.
    min_reversal_fraction: float = attrs.field(default=0.5, validator=positive)
    near_miss_capacity: int = attrs.field(default=20, validator=non_negative)


@attrs.define(slots=True)
class _Ignition:
    side: str
    start_ts: int
    end_ts: int
    deadline: int
    ref_price: float
    peak_price: float
    move_pct: float
    move_ticks: float
    tick: float | None
    volume: float
    trades: int
    share: float
    order_ids: list[str]
    # where the other side traded before the burst: the reversal trades there
    # (a buy burst is sold into the bids) and profits from the move beyond it
    exit_ref: float = 0.0
    reversed: float = 0.0
    reversed_notional: float = 0.0
    reversal_ids: list[str] = attrs.field(factory=list)
    first_reversal_ts: int = 0


@attrs.define(slots=True)
class _Mover:
    # (ts, side, size, price, order id, market price before on this side, market
    # volume before, market price before on the other side); made on the actor's
    # first aggressive execution (memory per actor)
    burst: deque[tuple[int, str, float, float, str, float, float, float]] | None = None
    volume: dict[str, float] = attrs.field(factory=lambda: {BUY: 0.0, SELL: 0.0})
    # distinct aggressive orders in the burst window per side: one order
    # sweeping several levels is several executions but one order
    trades: dict[str, int] = attrs.field(factory=lambda: {BUY: 0, SELL: 0})
    # executions in the window per order id (made on the first one with an id)
    fills_of: dict[str, int] | None = None
    ignition: _Ignition | None = None
    best: tuple[Verdict, int, dict[str, Any]] | None = None
    last_ts: int = 0


@attrs.define(slots=True)
class _Market:
    tick: float | None = None  # smallest price step seen
    last_price: float | None = None
    # the last print on each side (buyer- or seller-initiated): a buy burst is
    # measured from where buyers last traded, not from a print at the bid
    last_buy: float | None = None
    last_sell: float | None = None
    volume: float = 0.0
    has_tape: bool = False
    last_ts: int = 0


class MomentumIgnitionDetector(DetectorBase):
    name = "momentum_ignition"
    category = "momentum_ignition"
    citation = CITATION
    kinds = frozenset({"order.filled", "trade.tape"})

    def __init__(self, config: MomentumIgnitionConfig | None = None) -> None:
        cfg = config or MomentumIgnitionConfig()
        super().__init__(cfg)
        self.cfg = cfg
        self.burst_ns = ms_to_ns(cfg.burst_window_ms)
        self.reversal_ns = ms_to_ns(cfg.reversal_window_ms)
        self._markets: dict[str, _Market] = {}
        self._movers: dict[tuple[str, str], _Mover] = {}
        self._seen: dict[tuple[str, str, int, float, float], int] = {}
        self._seen_q: deque[tuple[int, tuple[str, str, int, float, float]]] = deque()
        self._expiry: deque[tuple[int, tuple[str, str], _Ignition]] = deque()

    def on_event(self, ev: MarketEvent, ctx: Any) -> list[AnomalyFinding] | None:
        self._expire(ev.ts)
        if ev.price is None or not ev.size:
            return None
        mk = self._markets.get(ev.market_id)
        if mk is None:
            mk = self._markets[ev.market_id] = _Market()
        mk.last_ts = ev.ts
        before_volume = mk.volume
        side_price, other_price = ((mk.last_buy, mk.last_sell) if ev.side == BUY
                                   else (mk.last_sell, mk.last_buy))
        before_price = side_price if side_price is not None else mk.last_price
        before_other = other_price if other_price is not None else mk.last_price
        # Market price and volume: from the tape where the venue prints one,
        # else from takers' fills (one per execution, never both legs).
        if mk.last_price is not None and ev.price != mk.last_price:
            step = round(abs(ev.price - mk.last_price), 9)
            if step > 0 and (mk.tick is None or step < mk.tick):
                mk.tick = step
        if ev.kind == "trade.tape" or (not mk.has_tape and ev.aggressor):
            if ev.kind == "trade.tape":
                mk.has_tape = True
            mk.last_price = ev.price
            mk.volume += ev.size
            if ev.side == BUY:
                mk.last_buy = ev.price
            elif ev.side == SELL:
                mk.last_sell = ev.price
        actor = ev.actor_id
        if actor is None or ev.side not in (BUY, SELL):
            return None
        if ev.kind == "order.filled" and ev.aggressor is None:
            aggressive = False
        else:
            aggressive = ev.kind == "trade.tape" or bool(ev.aggressor)
        key = (actor, ev.market_id, ev.ts, ev.price, ev.size)
        if key in self._seen:
            return None  # the same execution seen as both a fill and a print
        self._seen[key] = ev.ts
        self._seen_q.append((ev.ts + self.burst_ns, key))
        mkey = (actor, ev.market_id)
        mv = self._movers.get(mkey)
        if mv is None:
            mv = self._movers[mkey] = _Mover()
        mv.last_ts = ev.ts
        ign = mv.ignition
        if ign is not None and ev.side != ign.side and ev.ts <= ign.deadline:
            return self._reversal(ev, mv, ign, mk)
        if not aggressive:
            return None
        self._burst(ev, mv, mk, before_price, before_volume, before_other, ctx)
        return None

    # ------------------------------------------------------------------ burst

    def _burst(self, ev: MarketEvent, mv: _Mover, mk: _Market, before_price: float | None,
               before_volume: float, before_other: float | None, ctx: Any) -> None:
        side = ev.side or BUY
        ref_price = before_price if before_price is not None else ev.price or 0.0
        other_ref = before_other if before_other is not None else ref_price
        burst = mv.burst
        if burst is None:
            burst = mv.burst = deque()
        oid = ev.order_id or ""
        burst.append((ev.ts, side, ev.size or 0.0, ev.price or 0.0, oid, ref_price,
                      before_volume, other_ref))
        mv.volume[side] += ev.size or 0.0
        if self._order_in(mv, oid):
            mv.trades[side] += 1
        cutoff = ev.ts - self.burst_ns
        while burst and burst[0][0] < cutoff:
            _, s, sz, _, old, *_ = burst.popleft()
            mv.volume[s] -= sz
            if self._order_out(mv, old):
                mv.trades[s] -= 1
        ign = mv.ignition
        if ign is not None and ign.side == side and ev.ts <= ign.deadline:
            # the burst goes on: extend the ignition it already made
            ign.end_ts = ev.ts
            ign.volume += ev.size or 0.0
            if not oid or oid not in ign.order_ids:
                ign.trades += 1
            ign.order_ids.append(oid)
            move = self._move(side, ign.ref_price, ev.price or 0.0)
            if move > ign.move_pct:
                ign.peak_price, ign.move_pct = ev.price or 0.0, move
                ign.move_ticks = self._ticks(side, ign.ref_price, ign.peak_price, ign.tick)
            return None
        cfg = self.cfg
        trades = mv.trades[side]
        if trades < 2 and trades < cfg.min_burst_trades:
            # A lone execution: min_burst_trades fails, and a miss is remembered
            # only from two trades on, so there is nothing to judge (most
            # aggressive fills of ordinary flow end here).
            return None
        for first in burst:  # the burst's first execution on this side
            if first[1] == side:
                break
        # Where the move began: the last print on the burst's side before it, or
        # its own first execution, whichever is further back (a buy burst from
        # the ask, not from a print at the bid: the spread is not a move).
        ref = min(first[5], first[3]) if side == BUY else max(first[5], first[3])
        # Where the actor's own latest execution took the price (the print of
        # this execution may come after the fill).
        now_price = ev.price or 0.0
        move = self._move(side, ref, now_price)
        # (the market's print of this very execution may not have arrived yet)
        market_volume = max(mk.volume - first[6], mv.volume[side])
        share = mv.volume[side] / market_volume if market_volume > 0 else 1.0
        tick = mk.tick
        if mv.trades[side] >= cfg.min_burst_trades:
            tick = self._book_tick(ctx, ev.market_id, tick)
            mk.tick = tick
        ticks = self._ticks(side, ref, now_price, tick)
        verdict = evaluate([
            Threshold("min_burst_trades", float(mv.trades[side]), float(cfg.min_burst_trades)),
            Threshold("min_burst_volume", mv.volume[side], cfg.min_burst_volume),
            *self._move_checks(move, ticks, tick),
            Threshold("min_burst_share", min(share, 1.0), cfg.min_burst_share),
        ])
        if not verdict.passed:
            if mv.trades[side] >= 2 and (mv.best is None
                                         or verdict.closeness > mv.best[0].closeness):
                mv.best = (verdict, ev.ts, {"side": side, "burst_volume": r6(mv.volume[side]),
                                            "move_pct": r6(move)})
            return None
        mv.best = None
        ids = [x[4] for x in burst if x[1] == side]
        ign = _Ignition(side, first[0], ev.ts, ev.ts + self.reversal_ns, ref, now_price, move,
                        ticks, tick, mv.volume[side], mv.trades[side], min(share, 1.0), ids,
                        exit_ref=first[7])
        mv.ignition = ign
        self._expiry.append((ign.deadline, (ev.actor_id or "", ev.market_id), ign))
        return None

    @staticmethod
    def _order_in(mv: _Mover, oid: str) -> bool:
        """Count an execution of order ``oid``; whether it is the order's first in the
        window (executions without an order id each count as an order)."""
        if not oid:
            return True
        fills = mv.fills_of
        if fills is None:
            fills = mv.fills_of = {}
        n = fills.get(oid, 0)
        fills[oid] = n + 1
        return n == 0

    @staticmethod
    def _order_out(mv: _Mover, oid: str) -> bool:
        """An execution of ``oid`` left the window; whether it was the order's last."""
        if not oid:
            return True
        fills = mv.fills_of
        n = fills.get(oid, 0) if fills is not None else 0
        if n > 1:
            fills[oid] = n - 1  # type: ignore[index]
            return False
        if fills is not None:
            fills.pop(oid, None)
        return True

    def _move_checks(self, move_pct: float, move_ticks: float, tick: float | None
                     ) -> list[Threshold]:
        cfg = self.cfg
        checks = []
        if tick is not None and cfg.min_price_move_ticks > 0:
            checks.append(Threshold("min_price_move_ticks", move_ticks, cfg.min_price_move_ticks))
        if cfg.min_price_move_pct > 0 or tick is None:
            checks.append(Threshold("min_price_move_pct", move_pct, cfg.min_price_move_pct or 1.0))
        return checks

    @staticmethod
    def _ticks(side: str, ref: float, price: float, tick: float | None) -> float:
        if not tick:
            return 0.0
        n = round((price - ref) / tick, 6)
        return n if side == BUY else -n

    @staticmethod
    def _book_tick(ctx: Any, market_id: str, tick: float | None) -> float | None:
        """Refine the tick estimate from adjacent levels of the engine's book."""
        levels = ctx_levels(ctx, market_id, 20)
        if levels is None:
            return tick
        for side_levels in levels:
            prev = None
            for lv in side_levels[:20]:
                p = float(lv[0])
                if prev is not None:
                    step = round(abs(p - prev), 9)
                    if step > 0 and (tick is None or step < tick):
                        tick = step
                prev = p
        return tick

    @staticmethod
    def _move(side: str, ref: float, price: float) -> float:
        if ref <= 0:
            return 0.0
        pct = (price - ref) / ref * 100.0
        return pct if side == BUY else -pct

    # ------------------------------------------------------------------ reversal

    def _reversal(self, ev: MarketEvent, mv: _Mover, ign: _Ignition, mk: _Market
                  ) -> list[AnomalyFinding] | None:
        size, price = ev.size or 0.0, ev.price or 0.0
        # Only trades at prices still beyond where the move began profit from it
        # (on the side the reversal trades: a buy burst's exit sells at the bids).
        beyond = price > ign.exit_ref if ign.side == BUY else price < ign.exit_ref
        if not beyond:
            return None
        if not ign.first_reversal_ts:
            ign.first_reversal_ts = ev.ts
        ign.reversed += size
        ign.reversed_notional += size * price
        ign.reversal_ids.append(ev.order_id or "")
        verdict = self._verdict(ign)
        if not verdict.passed:
            return None
        mv.ignition = None
        vwap = ign.reversed_notional / ign.reversed
        other = opposite(ign.side)
        evidence = {
            "burst_side": ign.side, "burst_trades": ign.trades, "burst_volume": r6(ign.volume),
            "burst_order_ids": sorted(set(ign.order_ids)),
            "burst_start_ts": ign.start_ts, "burst_end_ts": ign.end_ts,
            "price_before": r6(ign.ref_price), "price_after_burst": r6(ign.peak_price),
            "other_side_price_before": r6(ign.exit_ref),
            "move_pct": r6(ign.move_pct), "move_ticks": r6(ign.move_ticks),
            "tick_size_estimate": None if ign.tick is None else r6(ign.tick),
            "actor_share_of_market_volume": r6(ign.share),
            "reversal_side": other, "reversal_volume": r6(ign.reversed),
            "reversal_vwap": r6(vwap), "reversal_order_ids": sorted(set(ign.reversal_ids)),
            "first_reversal_ts": ign.first_reversal_ts,
            "reversal_delay_ms": ms(ign.first_reversal_ts - ign.end_ts),
            "reversal_fraction": r6(ign.reversed / ign.volume),
        }
        msg = (f"{ev.actor_id} bought" if ign.side == BUY else f"{ev.actor_id} sold")
        msg += (f" aggressively ({ign.trades} orders, {ign.volume:g}) moving the price "
                f"{ign.move_pct:.1f}% from {ign.ref_price:g} to {ign.peak_price:g}, then "
                f"{'sold' if ign.side == BUY else 'bought'} {ign.reversed:g} into the move at "
                f"{vwap:g} within {ms(ev.ts - ign.end_ts):g} ms")
        return [make_finding(self.name, self.category, ev, actor_id=ev.actor_id,
                             verdict=verdict, message=msg, citation=self.citation,
                             evidence=evidence)]

    def _verdict(self, ign: _Ignition) -> Verdict:
        cfg = self.cfg
        return evaluate([
            Threshold("min_burst_trades", float(ign.trades), float(cfg.min_burst_trades)),
            Threshold("min_burst_volume", ign.volume, cfg.min_burst_volume),
            *self._move_checks(ign.move_pct, ign.move_ticks, ign.tick),
            Threshold("min_burst_share", ign.share, cfg.min_burst_share),
            Threshold("min_reversal_fraction", ign.reversed / ign.volume,
                      cfg.min_reversal_fraction),
        ])

    # ------------------------------------------------------------------ state

    def _expire(self, now: int) -> None:
        q = self._seen_q
        while q and q[0][0] < now:
            _, key = q.popleft()
            self._seen.pop(key, None)
        eq = self._expiry
        while eq and eq[0][0] < now:
            _, mkey, ign = eq.popleft()
            mv = self._movers.get(mkey)
            if mv is not None and mv.ignition is ign:
                mv.ignition = None
                self._report(ign, mkey)

    def _report(self, ign: _Ignition, mkey: tuple[str, str]) -> None:
        self._near.offer(self._verdict(ign), ts=ign.end_ts, market_id=mkey[1],
                         actor_id=mkey[0],
                         detail={"side": ign.side, "burst_volume": r6(ign.volume),
                                 "move_pct": r6(ign.move_pct), "reversed": r6(ign.reversed)},
                         candidate=[mkey[0], mkey[1], ign.start_ts])

    def finish(self, ctx: Any = None) -> list[AnomalyFinding]:
        for mkey, mv in sorted(self._movers.items()):
            if mv.ignition is not None:
                self._report(mv.ignition, mkey)
                mv.ignition = None
            if mv.best is not None:
                verdict, ts, detail = mv.best
                self._near.offer(verdict, ts=ts, market_id=mkey[1], actor_id=mkey[0],
                                 detail=detail)
                mv.best = None
        return []

    def evict_idle(self, before_ts: int) -> None:
        for key in [k for k, mv in self._movers.items() if mv.last_ts < before_ts]:
            del self._movers[key]
        for m in [m for m, mk in self._markets.items() if mk.last_ts < before_ts]:
            del self._markets[m]
