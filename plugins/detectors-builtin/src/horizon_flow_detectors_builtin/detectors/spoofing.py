"""Spoofing: a large order on one side that is not meant to trade.

The pattern (CEA §4c(a)(5)(C); the CFTC's evidence in its spoofing cases):
an actor rests a *bait* order many times the size of what it really trades,
tilting the visible book toward one side; while the bait rests, the same
actor executes on the *other* side; then it cancels the bait within seconds,
(almost) unfilled.

Identified venues: the bait is an ``order.placed`` judged at its
``order.canceled``. The executions are the actor's own ``order.filled`` on
the opposite side between placement and cancellation, taken from a running
per-side total (O(1) per event, nothing is re-scanned).

Anonymous venues (no ``actor_id`` on order events, only book and tape): the
bait is size appearing at one book level and withdrawn without trading (see
:mod:`..level_intents`); "executions" are the market's tape prints at other
prices during its life. Such findings name no actor, carry
``"anonymous": true`` and lower confidence.
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Any

import attrs

from horizon_flow_core.events import MarketEvent
from horizon_flow_core.findings import AnomalyFinding

from ..book import ctx_levels, order_imbalance
from ..common import (
    BUY,
    NEVER,
    SELL,
    Threshold,
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
from ..level_intents import LevelIntentTracker, LevelWithdrawal, MarketLevels
from .base import DetectorBase

CITATION = (
    "Commodity Exchange Act §4c(a)(5)(C), 7 U.S.C. §6c(a)(5)(C) (spoofing: bidding or offering "
    "with the intent to cancel before execution); CFTC spoofing evidence patterns: orders many "
    "times the genuine size, cancelled within seconds, rarely filled"
)


@attrs.frozen
class SpoofingConfig:
    """``[detectors.spoofing]``. Defaults are those of deployment.txt where it gives them."""

    #: Smallest order (in contracts/shares/coins) that can be a bait.
    min_bait_size: float = attrs.field(default=500.0, validator=positive)
    #: Bait size over the actor's opposite-side executions during the bait's life.
    bait_to_aggressor_ratio: float = attrs.field(default=5.0, validator=at_least(1.0))
    #: Bait size over what the actor had resting on the other side when it
    #: executed there during the bait's life (at least the executing order). A
    #: spoofer's genuine order is a fraction of the bait; a market maker whose
    #: bid is hit while its ask rests quotes both sides, and the ask it then
    #: cancels is not much bigger than its bids.
    bait_to_genuine_order_ratio: float = attrs.field(default=2.0, validator=at_least(1.0))
    #: Most price levels one bait may be split over (the actor's same-side
    #: baits cancelled during one bait's life are judged as one); more levels
    #: are layering, which that detector reports.
    max_bait_levels: int = attrs.field(default=2, validator=at_least(1))
    #: Longest bait life (placement to cancellation) that counts.
    cancel_window_ms: float = attrs.field(default=2000.0, validator=positive)
    #: Smallest (S - O) / (S + O) of top-of-book depth toward the bait's side.
    min_book_imbalance: float = attrs.field(default=0.3, validator=fraction)
    #: Largest filled share of the bait (a bona fide order trades).
    max_bait_fill_ratio: float = attrs.field(default=0.1, validator=fraction)
    #: Levels each side summed for the imbalance.
    book_depth_levels: int = attrs.field(default=5, validator=at_least(1))
    #: Also look for the pattern in book and tape where orders carry no actor.
    anonymous: bool = True
    near_miss_capacity: int = attrs.field(default=20, validator=non_negative)


@attrs.define(slots=True)
class _Bait:
    key: tuple[str, str]
    actor_id: str
    order_id: str
    side: str
    price: float
    size: float
    ts: int
    opposite_at_place: float  # actor's cumulative opposite-side executed volume at placement
    # Book imbalance toward the bait when the actor executed on the other side
    # (the moment the bait is meant to work), the largest over its executions.
    imbalance: float = -1.0
    side_depth: float = 0.0
    other_depth: float = 0.0
    imbalance_source: str = ""
    filled: float = 0.0
    # the most the actor had resting on the opposite side when it executed
    # there while the bait rested (at least the executing order)
    genuine_order: float = 0.0
    canceled_ts: int = 0


@attrs.define(slots=True)
class _ActorFlow:
    """One actor in one market: cumulative executed volume per side, recent fills."""

    cum: dict[str, float] = attrs.field(factory=lambda: {BUY: 0.0, SELL: 0.0})
    cited: dict[str, float] = attrs.field(factory=lambda: {BUY: -1.0, SELL: -1.0})
    # made on the actor's first fill here (memory per actor)
    fills: deque[tuple[int, str, float, float, str | None]] | None = None
    baits: list[tuple[str, str]] = attrs.field(factory=list)  # keys of live baits
    # the actor's own known resting size per side (a market maker quotes both)
    rest_buy: float = 0.0
    rest_sell: float = 0.0
    # baits cancelled lately, newest last: a bait split over several orders is
    # judged whole at the cancel of its last order
    canceled: list[_Bait] | None = None
    last_ts: int = 0


@attrs.define(slots=True)
class _Resting:
    """Known resting orders of one market (the imbalance fallback without a book).

    The per-side totals are plain attributes rather than a dict keyed by side:
    every placement and cancel updates one, and a slot costs less than a dict item.
    """

    # order id -> (side, size left, the placing actor's flow or None)
    orders: dict[str, tuple[str, float, _ActorFlow | None]] = attrs.field(factory=dict)
    buy_depth: float = 0.0
    sell_depth: float = 0.0
    identified: bool = False
    last_ts: int = 0

    def depth(self, side: str) -> float:
        return self.buy_depth if side == BUY else self.sell_depth

    def set_depth(self, side: str, depth: float) -> None:
        if side == BUY:
            self.buy_depth = depth
        else:
            self.sell_depth = depth


MAX_RESTING_PER_MARKET = 100_000
_SIDES = (BUY, SELL)


class SpoofingDetector(DetectorBase):
    name = "spoofing"
    category = "spoofing"
    citation = CITATION

    def __init__(self, config: SpoofingConfig | None = None) -> None:
        cfg = config or SpoofingConfig()
        super().__init__(cfg)
        self.cfg = cfg
        self.window_ns = ms_to_ns(cfg.cancel_window_ms)
        # Candidates are kept three windows so that late cancels show up as near-misses.
        self.horizon_ns = 3 * self.window_ns
        self.candidate_size = 0.5 * cfg.min_bait_size
        kinds = {"order.placed", "order.canceled", "order.filled", "order.amended"}
        if cfg.anonymous:
            kinds |= {"book.snapshot", "book.delta", "trade.tape"}
        self.kinds = frozenset(kinds)
        self._baits: dict[tuple[str, str], _Bait] = {}
        self._expiry: deque[tuple[int, tuple[str, str], _Bait]] = deque()
        # When the head of _expiry is due (NEVER: empty), read by every
        # event: one attribute instead of peeking into the deque.
        self._expire_at: int = NEVER
        self._flows: dict[tuple[str, str], _ActorFlow] = {}
        self._resting: dict[str, _Resting] = {}
        # Identified markets (their _Resting says so) -> the level tracker's state
        # of that market, whose book is all that is kept there: one lookup per
        # book event instead of two. Both sides only drop entries in evict_idle,
        # which empties this cache.
        self._book_only: dict[str, MarketLevels] = {}
        self._levels = LevelIntentTracker(min_added=self.candidate_size,
                                          horizon_ns=self.horizon_ns,
                                          depth_levels=cfg.book_depth_levels)

    # ------------------------------------------------------------------ events

    def on_event(self, ev: MarketEvent, ctx: Any) -> list[AnomalyFinding] | None:
        # The hot path: one function with locals for what most events touch
        # (book deltas, placements and cancels of small orders); the rare work
        # (a bait, a fill, a judgement, a book event outside identified markets)
        # is in the methods it calls.
        ts = ev.ts
        if ts > self._expire_at:
            self._expire(ts)
        kind = ev.kind
        if kind == "book.delta" or kind == "book.snapshot" or kind == "trade.tape":
            m = self._book_only.get(ev.market_id)
            if m is None:
                return self._on_book(ev)
            # Where orders carry actors the identified path covers the market;
            # the book is still kept, for the imbalance when the engine has none.
            m.keep_book(ev)
            return None
        market = ev.market_id
        rest = self._resting.get(market)
        if rest is None:
            rest = self._resting[market] = _Resting()
        rest.last_ts = ts
        if kind == "order.placed":
            actor, oid, side, size = ev.actor_id, ev.order_id, ev.side, ev.size
            if actor is not None:
                rest.identified = True
            if oid is None or side not in _SIDES or size is None:
                return None
            orders = rest.orders
            if len(orders) >= MAX_RESTING_PER_MARKET:
                self._forget_oldest(rest)
            flow = None if actor is None else self._flow(actor, market, ts)
            orders[oid] = (side, size, flow)
            if side == BUY:
                rest.buy_depth += size
                if flow is not None:
                    flow.rest_buy += size
            else:
                rest.sell_depth += size
                if flow is not None:
                    flow.rest_sell += size
            if actor is None or size < self.candidate_size or ev.price is None:
                return None  # most orders: too small to be a bait
            self._new_bait(ev, actor, oid, side, size)
            return None
        if kind == "order.canceled":
            oid = ev.order_id
            if oid is None:
                return None
            known = rest.orders.pop(oid, None)
            if known is not None:
                if known[0] == BUY:
                    left = rest.buy_depth - known[1]
                    rest.buy_depth = 0.0 if left < 0.0 else left  # max(left, 0.0)
                else:
                    left = rest.sell_depth - known[1]
                    rest.sell_depth = 0.0 if left < 0.0 else left
                if known[2] is not None:
                    _unrest(known[2], known[0], known[1])
            baits = self._baits
            if not baits:
                return None
            bait = baits.pop((market, oid), None)
            if bait is None:
                return None
            return self._on_canceled(ev, bait)
        if kind == "order.filled":
            self._on_filled(ev, ctx, rest)
        elif kind == "order.amended":
            self._on_amended(ev, rest)
        return None

    def _on_book(self, ev: MarketEvent) -> list[AnomalyFinding] | None:
        """A book event of a market not (yet) in ``_book_only``."""
        market = ev.market_id
        rest = self._resting.get(market)
        if rest is not None and rest.identified:
            # (keep_book also drops additions followed before it was identified)
            m = self._book_only[market] = self._levels.market(market)
            m.keep_book(ev)
            return None
        withdrawals = self._levels.on_event(ev)
        if not withdrawals:
            return None
        # a plain loop, not a comprehension: one here would make self and ev
        # closure cells, a cost on every event
        out: list[AnomalyFinding] = []
        for w in withdrawals:
            f = self._judge_anonymous(ev, w)
            if f is not None:
                out.append(f)
        return out or None

    @staticmethod
    def _forget_oldest(rest: _Resting) -> None:
        """Forget the oldest tenth of a market's unmatched resting orders at once
        (one at a time, each placement would rescan the dict's dropped slots)."""
        orders = rest.orders
        for old in list(islice(orders, MAX_RESTING_PER_MARKET // 10)):
            s, sz, flow = orders.pop(old)
            rest.set_depth(s, max(rest.depth(s) - sz, 0.0))
            if flow is not None:
                _unrest(flow, s, sz)

    def _new_bait(self, ev: MarketEvent, actor: str, oid: str, side: str, size: float) -> None:
        """Follow a placement large enough to be a bait (its price is known)."""
        price = ev.price
        assert price is not None
        flow = self._flow(actor, ev.market_id, ev.ts)
        other = opposite(side) or SELL
        key = (ev.market_id, oid)
        bait = _Bait(key, actor, oid, side, price, size, ev.ts, flow.cum[other])
        self._baits[key] = bait
        self._expiry.append((ev.ts + self.horizon_ns, key, bait))
        self._expire_at = self._expiry[0][0]
        if len(flow.baits) >= 64:
            flow.baits = [k for k in flow.baits if k in self._baits][-63:]
        flow.baits.append(key)

    def _measure(self, bait: _Bait, ctx: Any, rest: _Resting) -> None:
        """Record the book imbalance toward the bait now, keeping the largest seen."""
        other = opposite(bait.side) or SELL
        remaining = max(bait.size - bait.filled, 0.0)
        known = rest.orders.get(bait.order_id)
        if known is None:  # not in the resting totals (e.g. evicted): count it there
            resting = (rest.depth(bait.side) + remaining, rest.depth(other))
        else:
            resting = (rest.depth(bait.side), rest.depth(other))
        imb, s, o, source = order_imbalance(
            bait.side, bait.price, remaining, self.cfg.book_depth_levels,
            ctx_book=ctx_levels(ctx, bait.key[0], self.cfg.book_depth_levels),
            own_book=self._levels.book(bait.key[0]),
            resting=resting)
        if imb > bait.imbalance:
            bait.imbalance, bait.side_depth, bait.other_depth = imb, s, o
            bait.imbalance_source = source

    def _on_filled(self, ev: MarketEvent, ctx: Any, rest: _Resting) -> None:
        size = ev.size or 0.0
        oid, side, ts = ev.order_id, ev.side, ev.ts
        # what the actor had resting on the fill's side, this order included, before
        # this fill (at least the fill itself)
        genuine = size
        if oid is not None:
            orders = rest.orders
            known = orders.get(oid)
            if known is not None:
                owner = known[2]
                if owner is not None:
                    held = owner.rest_buy if known[0] == BUY else owner.rest_sell
                    genuine = max(known[1], held, size)
                    _unrest(owner, known[0], min(size, known[1]))
                else:
                    genuine = max(known[1], size)
                left = known[1] - size
                rest.set_depth(known[0], max(rest.depth(known[0]) - min(size, known[1]), 0.0))
                if left > 1e-12:
                    orders[oid] = (known[0], left, owner)
                else:
                    del orders[oid]
            if self._baits:
                bait = self._baits.get((ev.market_id, oid))
                if bait is not None:
                    bait.filled += size
        actor = ev.actor_id
        if actor is None or side not in _SIDES:
            return
        flow = self._flow(actor, ev.market_id, ts)
        flow.cum[side] += size
        fills = flow.fills
        if fills is None:
            fills = flow.fills = deque(maxlen=64)
        fills.append((ts, side, ev.price or 0.0, size, oid))
        if flow.baits:
            baits = self._baits
            live = []
            for key in flow.baits:
                bait = baits.get(key)
                if bait is None:
                    continue
                live.append(key)
                if bait.side != side:
                    self._measure(bait, ctx, rest)
                    if genuine > bait.genuine_order:
                        bait.genuine_order = genuine
            flow.baits = live

    def _on_amended(self, ev: MarketEvent, rest: _Resting) -> None:
        if ev.order_id is None:
            return
        known = rest.orders.get(ev.order_id)
        if known is not None and ev.size is not None:
            rest.set_depth(known[0], max(rest.depth(known[0]) - known[1], 0.0) + ev.size)
            rest.orders[ev.order_id] = (known[0], ev.size, known[2])
            if known[2] is not None:
                _unrest(known[2], known[0], known[1] - ev.size)
        bait = self._baits.get((ev.market_id, ev.order_id))
        if bait is not None:
            if ev.size is not None:
                bait.size = max(bait.size, ev.size)
            if ev.price is not None:
                bait.price = ev.price

    def _on_canceled(self, ev: MarketEvent, bait: _Bait) -> list[AnomalyFinding] | None:
        """Judge a followed bait at its cancellation (already out of the resting totals).

        A bait is often several orders (one level or a few): the actor's other
        baits on the same side cancelled during this one's life are judged with
        it, as one bait of their total size.
        """
        flow = self._flows.get((bait.actor_id, ev.market_id))
        if flow is None:
            return None
        bait.canceled_ts = ev.ts
        group = self._bait_group(flow, bait, ev.ts)
        other = opposite(bait.side) or SELL
        executed = flow.cum[other] - min(b.opposite_at_place for b in group)
        if executed <= 0:
            return None  # no execution on the other side: not this pattern at all
        cfg = self.cfg
        size = sum(b.size for b in group)
        filled = sum(b.filled for b in group)
        genuine = max(max(b.genuine_order for b in group), executed)
        strongest = max(group, key=lambda b: b.imbalance)
        placed = min(b.ts for b in group)
        life = ev.ts - placed
        verdict = evaluate([
            Threshold("min_bait_size", size, cfg.min_bait_size),
            Threshold("bait_to_aggressor_ratio", size / executed, cfg.bait_to_aggressor_ratio),
            Threshold("bait_to_genuine_order_ratio", size / genuine,
                      cfg.bait_to_genuine_order_ratio, calibrates=False),
            Threshold("cancel_window_ms", ms(life), cfg.cancel_window_ms, at_most=True),
            Threshold("min_book_imbalance", strongest.imbalance, cfg.min_book_imbalance),
            Threshold("max_bait_fill_ratio", filled / size, cfg.max_bait_fill_ratio,
                      at_most=True, calibrates=False),
        ])
        detail = {"order_id": bait.order_id, "side": bait.side, "size": r6(size),
                  "placed_ts": placed, "orders": len(group)}
        if not verdict.passed:
            self._near.offer(verdict, ts=ev.ts, market_id=ev.market_id,
                             actor_id=bait.actor_id, detail=detail)
            return None
        # One finding per episode: a second bait cancelled against the same
        # executions is the same spoof, already reported.
        if flow.cited[other] >= flow.cum[other]:
            return None
        flow.cited[other] = flow.cum[other]
        fills = [
            {"ts": ts, "order_id": oid, "price": r6(p), "size": r6(sz)}
            for ts, s, p, sz, oid in (flow.fills or ())
            if s == other and placed <= ts <= ev.ts
        ][-20:]
        evidence = {
            "bait_order_id": bait.order_id, "bait_side": bait.side, "bait_price": r6(bait.price),
            "bait_size": r6(size), "bait_filled": r6(filled),
            "placed_ts": placed, "canceled_ts": ev.ts, "life_ms": ms(life),
            "opposite_side": other, "opposite_executed": r6(executed),
            "opposite_fills": fills,
            "bait_to_execution_ratio": r6(size / executed),
            "opposite_resting": r6(genuine),
            "book_imbalance": r6(strongest.imbalance),
            "bait_side_depth": r6(strongest.side_depth),
            "other_side_depth": r6(strongest.other_depth),
            "imbalance_source": strongest.imbalance_source,
        }
        if len(group) > 1:
            evidence["bait_orders"] = [
                {"order_id": b.order_id, "price": r6(b.price), "size": r6(b.size),
                 "placed_ts": b.ts, "canceled_ts": b.canceled_ts} for b in group]
        what = (f"a {bait.side} bait of {size:g} at {bait.price:g}" if len(group) == 1 else
                f"a {bait.side} bait of {size:g} in {len(group)} orders at "
                f"{', '.join(sorted({f'{b.price:g}' for b in group}))}")
        msg = (f"{bait.actor_id} rested {what} "
               f"({size / executed:.1f}x the {executed:g} it executed on the {other} side "
               f"meanwhile; book imbalance {strongest.imbalance:.2f}) and cancelled it after "
               f"{ms(life):g} ms")
        return [make_finding(self.name, self.category, ev, actor_id=bait.actor_id,
                             verdict=verdict, message=msg, citation=self.citation,
                             evidence=evidence)]

    def _bait_group(self, flow: _ActorFlow, bait: _Bait, now: int) -> list[_Bait]:
        """``bait`` and the actor's same-side baits cancelled while it rested, oldest first
        (``bait`` alone when they and those still resting span more than
        ``max_bait_levels`` prices); ``bait`` is remembered among the cancelled ones
        for the orders after it."""
        canceled = flow.canceled
        if canceled is None:
            canceled = flow.canceled = []
        horizon = now - self.horizon_ns
        group = [b for b in canceled
                 if b.side == bait.side and b.canceled_ts >= bait.ts and b.ts >= horizon]
        group.append(bait)
        canceled.append(bait)
        if len(canceled) > 32:
            del canceled[:16]
        if len(group) > 1:
            # the levels of the whole ladder, with the orders of it still resting
            prices = {b.price for b in group}
            baits = self._baits
            for key in flow.baits:
                live = baits.get(key)
                if live is not None and live.side == bait.side:
                    prices.add(live.price)
            if len(prices) > self.cfg.max_bait_levels:
                return [bait]  # a ladder of layers: each order is judged alone
        return group

    def _judge_anonymous(self, ev: MarketEvent, w: LevelWithdrawal) -> AnomalyFinding | None:
        cfg = self.cfg
        if w.tape_elsewhere <= 0:
            return None  # nothing traded while the size rested: no execution to spoof for
        size = w.added
        verdict = evaluate([
            Threshold("min_bait_size", size, cfg.min_bait_size),
            Threshold("bait_to_aggressor_ratio", size / w.tape_elsewhere,
                      cfg.bait_to_aggressor_ratio),
            Threshold("cancel_window_ms", ms(w.life_ns), cfg.cancel_window_ms, at_most=True),
            Threshold("min_book_imbalance", w.imbalance, cfg.min_book_imbalance),
            Threshold("max_bait_fill_ratio", w.traded_at_level / size, cfg.max_bait_fill_ratio,
                      at_most=True, calibrates=False),
        ])
        detail = {"side": w.side, "price": w.price, "size": r6(size), "added_ts": w.added_ts,
                  "anonymous": True}
        if not verdict.passed:
            self._near.offer(verdict, ts=ev.ts, market_id=ev.market_id, actor_id=None,
                             detail=detail)
            return None
        evidence = {
            "bait_side": w.side, "bait_price": r6(w.price), "bait_size": r6(size),
            "bait_canceled": r6(w.canceled), "bait_traded": r6(w.traded_at_level),
            "placed_ts": w.added_ts, "canceled_ts": w.ts, "life_ms": ms(w.life_ns),
            "opposite_executed": r6(w.tape_elsewhere),
            "bait_to_execution_ratio": r6(size / w.tape_elsewhere),
            "book_imbalance": r6(w.imbalance), "bait_side_depth": r6(w.side_depth),
            "other_side_depth": r6(w.other_depth), "imbalance_source": "own_book",
            "note": "no actor identity on this venue: bait seen as book size added and "
                    "withdrawn untraded; executions are tape prints at other prices",
        }
        msg = (f"anonymous {w.side} size {size:g} at {w.price:g} appeared (book imbalance "
               f"{w.imbalance:.2f}) while {w.tape_elsewhere:g} traded elsewhere, and was "
               f"withdrawn untraded after {ms(w.life_ns):g} ms")
        return make_finding(self.name, self.category, ev, actor_id=None, verdict=verdict,
                            message=msg, citation=self.citation, evidence=evidence,
                            anonymous=True)

    # ------------------------------------------------------------------ state

    def _flow(self, actor_id: str, market_id: str, ts: int) -> _ActorFlow:
        key = (actor_id, market_id)
        flow = self._flows.get(key)
        if flow is None:
            flow = self._flows[key] = _ActorFlow()
        flow.last_ts = ts
        return flow

    def _expire(self, now: int) -> None:
        q = self._expiry
        while q and q[0][0] < now:
            _, key, bait = q.popleft()
            if self._baits.get(key) is bait:
                del self._baits[key]
        self._expire_at = q[0][0] if q else NEVER

    def evict_idle(self, before_ts: int) -> None:
        for key in [k for k, f in self._flows.items() if f.last_ts < before_ts]:
            del self._flows[key]
        for market in [m for m, r in self._resting.items() if r.last_ts < before_ts]:
            del self._resting[market]
        for key in [k for k, b in self._baits.items() if b.ts < before_ts]:
            del self._baits[key]
        self._levels.evict_idle(before_ts)
        self._book_only.clear()  # it may hold markets dropped just now


def _unrest(flow: _ActorFlow, side: str, size: float) -> None:
    """Take ``size`` off the actor's known resting size on ``side`` (a negative size adds)."""
    if side == BUY:
        left = flow.rest_buy - size
        flow.rest_buy = left if left > 0.0 else 0.0
    else:
        left = flow.rest_sell - size
        flow.rest_sell = left if left > 0.0 else 0.0
