"""Layering: several orders at successive price levels on one side, an
execution on the other side, then the layers cancelled.

FINRA's description of layering, and Commission Delegated Regulation (EU)
2016/522 Annex II §2 (indicators of manipulative behaviour: "layering and
spoofing", placing multiple orders on one side of the book to execute a trade
on the other, then removing them).

Identified venues: when an actor executes on side X, its resting orders on
the other side placed shortly before (``placement_window_ms``) are candidate
layers. The episode fires when at least ``min_layers`` of them, at distinct
prices, are cancelled within ``cancel_within_ms`` of that execution, their
size is ``min_layer_to_execution_ratio`` times what executed, and the actor
is not simply quoting both sides (a market maker's own resting size on the
execution side stays above ``max_two_sided_ratio`` of the layers). A
market maker that cancels to *requote* puts the same side back at once: an
episode that passes is held ``requote_window_ms`` and dropped if the actor
re-places more than ``max_requote_ratio`` of the layered size on that side.
A genuine order worked in pieces keeps one episode, and orders placed
before its latest piece count as layers; a small fill on a layer (at most
``max_layer_fill_ratio`` of the actor's resting size there) does not end it.

Anonymous venues: the same shape in the book alone: ``min_layers`` levels on
one side that gained size and lost it untraded within ``cancel_within_ms`` of
each other while prints happened elsewhere. A market maker pulling its ladder
looks the same, so the candidate is held ``anonymous_requote_window_ms`` and
dropped when that side grows back by ``anonymous_max_requote_ratio`` of the
layered size, or
the other side was pulled at the same moments by ``max_two_sided_ratio`` of it.

Per event the cost is O(1): per-actor counters of resting size and resting
orders per side; order ids are listed only when a finding is written.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import attrs

from horizon_flow_core.events import MarketEvent
from horizon_flow_core.findings import AnomalyFinding

from ..common import (
    BUY,
    NEVER,
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
    positive,
    r6,
)
from ..level_intents import LevelIntentTracker, LevelWithdrawal
from .base import DetectorBase

CITATION = (
    "FINRA Rule 5210 / Regulatory Notice on layering (multiple non-bona fide orders at "
    "successive price levels to induce trading on the other side, then cancelled); "
    "Commission Delegated Regulation (EU) 2016/522 Annex II §2"
)


@attrs.frozen
class LayeringConfig:
    """``[detectors.layering]``. Defaults are those of deployment.txt where it gives them."""

    #: Fewest distinct price levels on one side that make a layer.
    min_layers: int = attrs.field(default=3, validator=at_least(2))
    #: Longest time from the opposite execution to each layer's cancellation.
    cancel_within_ms: float = attrs.field(default=3000.0, validator=positive)
    #: Layers must have been placed at most this long before the execution.
    placement_window_ms: float = attrs.field(default=5000.0, validator=positive)
    #: Cancelled layer size over the size executed on the other side.
    min_layer_to_execution_ratio: float = attrs.field(default=3.0, validator=at_least(0.0))
    #: The actor's own resting size left on the execution side, over the layer
    #: size, above which it is quoting both sides (a market maker), not layering.
    max_two_sided_ratio: float = attrs.field(default=0.5, validator=non_negative)
    #: After the layers are cancelled, how long to watch for the actor putting
    #: that side back (a market maker may pause a second before requoting).
    requote_window_ms: float = attrs.field(default=1500.0, validator=non_negative)
    #: Size the actor re-places on the layer side within that window, over the
    #: layered size, above which the cancels were a requote (a market maker), not
    #: layering. A ladder rolled inward comes back smaller than it was (its deep,
    #: large levels are the ones dropped), hence a quarter, not a half.
    max_requote_ratio: float = attrs.field(default=0.25, validator=non_negative)
    #: The same two for anonymous books, where the size that comes back to a side
    #: is anyone's: a longer window or a lower ratio would find everyone's
    #: orders there and drop real layers.
    anonymous_requote_window_ms: float = attrs.field(default=500.0, validator=non_negative)
    anonymous_max_requote_ratio: float = attrs.field(default=0.5, validator=non_negative)
    #: Smallest order counted as a layer.
    min_layer_size: float = attrs.field(default=0.0, validator=non_negative)
    #: A layer partly executed while the episode is open keeps it open while the
    #: executed share of the actor's resting size on the layer side stays at or
    #: below this (a stray touch); above it the orders trade like bona fide
    #: quotes and the episode ends.
    max_layer_fill_ratio: float = attrs.field(default=0.1, validator=fraction)
    #: Also look for layers in book and tape where orders carry no actor.
    anonymous: bool = True
    #: Smallest size appearing at a level that counts as an anonymous layer.
    anonymous_min_layer_size: float = attrs.field(default=100.0, validator=positive)
    near_miss_capacity: int = attrs.field(default=20, validator=non_negative)


@attrs.define(slots=True)
class _Episode:
    key: tuple[str, str]
    exec_ts: int
    # the detector's order event count at the execution (tells apart orders of the
    # same ts); where the genuine order fills in pieces, at its latest piece
    exec_seq: int
    exec_side: str
    layer_side: str
    deadline: int
    executed: float = 0.0
    exec_orders: list[str] = attrs.field(factory=list)
    # The actor's own size still resting on the execution side right after it
    # executed: a market maker's ladder keeps quoting there, a layerer does not.
    exec_side_resting: float = 0.0
    canceled: dict[float, float] = attrs.field(factory=dict)  # price -> cancelled size
    layer_filled: float = 0.0  # executed on candidate layers while the episode is open
    canceled_orders: list[tuple[int, str, float, float]] = attrs.field(factory=list)
    late_levels_ts: int = 0  # when a late cancel brought the levels to min_layers
    late: dict[float, float] = attrs.field(factory=dict)
    best: Verdict | None = None
    fired: bool = False
    # Held for the requote check once every other threshold passed:
    confirm_at: int = 0
    replaced: float = 0.0
    held: tuple[MarketEvent, Verdict, dict[str, Any], str] | None = None


@attrs.define(slots=True)
class _Trader:
    """One actor in one market: its resting orders, with per-side totals kept in step.

    The totals are plain attributes rather than dicts keyed by side: every
    placement and cancel updates them, and a slot costs less than a dict item.
    """

    # order id -> (side, price, size, placed ts, placed order event count)
    orders: dict[str, tuple[str, float, float, int, int]] = attrs.field(factory=dict)
    buy_depth: float = 0.0  # resting size per side
    sell_depth: float = 0.0
    buy_orders: int = 0  # resting orders per side (is anything left to layer with?)
    sell_orders: int = 0
    episode: _Episode | None = None
    confirming: _Episode | None = None
    last_ts: int = 0

    def depth(self, side: str) -> float:
        return self.buy_depth if side == BUY else self.sell_depth

    def resting_on(self, side: str) -> bool:
        return (self.buy_orders if side == BUY else self.sell_orders) > 0

    def add(self, oid: str, side: str, price: float, size: float, ts: int, seq: int) -> None:
        if oid in self.orders:
            self.remove(oid)
        self.orders[oid] = (side, price, size, ts, seq)
        if side == BUY:
            self.buy_depth += size
            self.buy_orders += 1
        else:
            self.sell_depth += size
            self.sell_orders += 1

    def remove(self, oid: str) -> tuple[str, float, float, int, int] | None:
        o = self.orders.pop(oid, None)
        if o is None:
            return None
        if o[0] == BUY:
            left = self.buy_depth - o[2]
            self.buy_depth = 0.0 if left < 0.0 else left  # max(left, 0.0)
            self.buy_orders -= 1
        else:
            left = self.sell_depth - o[2]
            self.sell_depth = 0.0 if left < 0.0 else left
            self.sell_orders -= 1
        return o

    def reduce(self, oid: str, size: float) -> None:
        o = self.orders.get(oid)
        if o is None:
            return
        side, price, left, ts, seq = o
        left -= size
        if left <= 1e-12:
            self.remove(oid)
        else:
            self.orders[oid] = (side, price, left, ts, seq)
            if side == BUY:
                d = self.buy_depth - size
                self.buy_depth = 0.0 if d < 0.0 else d  # max(d, 0.0)
            else:
                d = self.sell_depth - size
                self.sell_depth = 0.0 if d < 0.0 else d


_SIDES = (BUY, SELL)
#: Withdrawals this close together are one moment (one participant's cancels of a
#: ladder arrive together).
_SAME_MOMENT_NS = 50_000_000


class LayeringDetector(DetectorBase):
    name = "layering"
    category = "layering"
    citation = CITATION

    def __init__(self, config: LayeringConfig | None = None) -> None:
        cfg = config or LayeringConfig()
        super().__init__(cfg)
        self.cfg = cfg
        self.cancel_ns = ms_to_ns(cfg.cancel_within_ms)
        self.placement_ns = ms_to_ns(cfg.placement_window_ms)
        self.requote_ns = ms_to_ns(cfg.requote_window_ms)
        self.anon_requote_ns = ms_to_ns(cfg.anonymous_requote_window_ms)
        self._confirm_q: deque[tuple[int, _Episode]] = deque()
        self._seq = 0
        kinds = {"order.placed", "order.canceled", "order.filled", "order.amended"}
        if cfg.anonymous:
            kinds |= {"book.snapshot", "book.delta", "trade.tape"}
        self.kinds = frozenset(kinds)
        self._traders: dict[tuple[str, str], _Trader] = {}
        # Episodes stay open two windows, so that late cancels show as near-misses.
        self._expiry: deque[tuple[int, _Episode]] = deque()
        # When the head of _expiry is due (NEVER: empty), read by every
        # event: one attribute instead of peeking into the deque.
        self._expire_at: int = NEVER
        self._identified: dict[str, int] = {}  # market -> last ts of an identified order
        self._levels = LevelIntentTracker(min_added=cfg.anonymous_min_layer_size,
                                          horizon_ns=self.placement_ns + self.cancel_ns,
                                          depth_levels=5)
        self._withdrawals: dict[tuple[str, str], deque[LevelWithdrawal]] = {}
        # anonymous layers held for the requote check: (due, side, size grown on
        # that side when held, the moments the layers were pulled, the event,
        # verdict, evidence and message)
        self._anon_held: deque[tuple[int, str, float, list[int], MarketEvent, Verdict,
                                     dict[str, Any], str]] = deque()
        # every anonymous withdrawal, (ts, size cancelled), by (market, side), kept a
        # cancel window: a market maker pulling its ladder pulls both sides
        self._pulled: dict[tuple[str, str], deque[tuple[int, float]]] = {}

    # ------------------------------------------------------------------ events

    def on_event(self, ev: MarketEvent, ctx: Any) -> list[AnomalyFinding] | None:
        # The hot path: one function with locals for what most events touch
        # (book events of identified markets, placements and cancels that
        # belong to no episode); the rare work is in the methods it calls.
        ts = ev.ts
        if ts > self._expire_at:
            self._expire(ts)
        cq = self._confirm_q
        if cq and cq[0][0] < ts:
            confirmed = self._confirm_due(ts)
            if confirmed:
                # The held findings come before this event's own. Nothing is due
                # any more, so the call below runs this event's work once.
                return confirmed + (self.on_event(ev, ctx) or [])
        kind = ev.kind
        if kind == "book.delta" or kind == "book.snapshot" or kind == "trade.tape":
            if ev.market_id in self._identified:
                return None  # the identified path covers this market
            held = self._anon_held
            if held and held[0][0] < ts:
                confirmed = self._confirm_anonymous(ts)
                if confirmed:
                    return confirmed + (self.on_event(ev, ctx) or [])
            found = self._levels.on_event(ev)
            if not found:
                return None
            # a plain loop, not a comprehension: one here would make self and ev
            # closure cells, a cost on every event
            for w in found:
                self._anonymous(ev, w)
            return None
        # Order events are counted (only their order is compared, so book
        # events need not be): tells apart orders of the same ts.
        self._seq = seq = self._seq + 1
        oid = ev.order_id
        if ev.actor_id is None or oid is None:
            return None
        self._identified[ev.market_id] = ts
        key = (ev.actor_id, ev.market_id)
        tr = self._traders.get(key)
        if tr is None:
            tr = self._traders[key] = _Trader()
        tr.last_ts = ts
        if kind == "order.placed":
            side, price, size = ev.side, ev.price, ev.size
            if side not in _SIDES or price is None or size is None:
                return None
            tr.add(oid, side, price, size, ts, seq)
            held = tr.confirming
            if held is not None and side == held.layer_side and ts <= held.confirm_at:
                held.replaced += size
            return None
        if kind == "order.canceled":
            o = tr.remove(oid)
            if o is None:
                return None
            ep = tr.episode
            if ep is None or ep.fired:
                return None  # most cancels: no episode open for this actor
            return self._on_cancel(ev, tr, ep, o)
        if kind == "order.amended":
            o = tr.orders.get(oid)
            if o is not None:
                tr.add(oid, o[0], ev.price if ev.price is not None else o[1],
                       ev.size if ev.size is not None else o[2], o[3], o[4])
        elif kind == "order.filled":
            self._on_fill(ev, tr, key)
        return None

    def _on_fill(self, ev: MarketEvent, tr: _Trader, key: tuple[str, str]) -> None:
        size = ev.size or 0.0
        oid = ev.order_id or ""
        side, ts = ev.side, ev.ts
        ep = tr.episode
        order = tr.orders.get(oid)
        if order is not None:
            if (ep is not None and not ep.fired and side == ep.layer_side == order[0]
                    and order[4] <= ep.exec_seq and ts <= ep.deadline and size > 0
                    and ep.layer_filled + size <= self.cfg.max_layer_fill_ratio
                    * (tr.depth(side) + ep.layer_filled)):
                # a candidate layer touched by a small fill: the layering goes on
                tr.reduce(oid, size)
                ep.layer_filled += size
                return
            tr.reduce(oid, size)
        if side not in _SIDES or size <= 0:
            return
        if ep is not None and not ep.fired:
            if ep.exec_side == side and ts <= ep.deadline:
                ep.executed += size  # the genuine order filling in pieces: same episode
                if oid == ep.exec_orders[0]:
                    # another piece of the order whose execution opened the episode:
                    # what was placed on the other side while it was being worked
                    # rested against this piece too, so counts as layers (another
                    # order filling, as in a market maker's next quotes, does not)
                    ep.exec_seq = self._seq
                ep.exec_orders.append(oid)
                ep.exec_side_resting = tr.depth(side)
                ep.deadline = ts + self.cancel_ns
                self._expiry.append((ep.deadline + self.cancel_ns, ep))
                self._expire_at = self._expiry[0][0]
                return
            self._report_miss(ep, tr)
            tr.episode = None
        layer_side = SELL if side == BUY else BUY
        if not tr.resting_on(layer_side):
            return  # nothing resting on the other side: no layers to judge
        ep = _Episode(key, ts, self._seq, side, layer_side, ts + self.cancel_ns, size,
                      [oid], tr.depth(side))
        tr.episode = ep
        self._expiry.append((ep.deadline + self.cancel_ns, ep))
        self._expire_at = self._expiry[0][0]

    def _on_cancel(self, ev: MarketEvent, tr: _Trader, ep: _Episode,
                   o: tuple[str, float, float, int, int]) -> list[AnomalyFinding] | None:
        """A cancelled order ``o`` of an actor with an open episode ``ep``: a layer?"""
        side, price, size, placed, placed_seq = o
        cfg = self.cfg
        # Layers rest before the execution (its latest piece): an order placed at
        # the same instant but after it (a requote) is not one.
        if (side != ep.layer_side or size < cfg.min_layer_size or placed_seq > ep.exec_seq
                or placed < ep.exec_ts - self.placement_ns):
            return None
        if ev.ts > ep.deadline:
            ep.late[price] = ep.late.get(price, 0.0) + size
            if not ep.late_levels_ts and len(ep.canceled.keys() | ep.late.keys()) >= \
                    cfg.min_layers:
                ep.late_levels_ts = ev.ts
            return None
        ep.canceled[price] = ep.canceled.get(price, 0.0) + size
        ep.canceled_orders.append((ev.ts, ev.order_id or "", price, size))
        if len(ep.canceled) < cfg.min_layers:
            return None
        verdict = self._verdict(ep, tr, ev.ts)
        if not verdict.passed:
            if ep.best is None or verdict.closeness > ep.best.closeness:
                ep.best = verdict
            return None
        ep.fired = True  # no more counting: judged now, reported after the requote check
        layered = sum(ep.canceled.values())
        prices = sorted(ep.canceled, reverse=(ep.layer_side == BUY))
        evidence = {
            "layer_side": ep.layer_side, "execution_side": ep.exec_side,
            "layer_prices": [r6(p) for p in prices],
            "layer_sizes": [r6(ep.canceled[p]) for p in prices],
            "layer_order_ids": sorted(oid for _, oid, _, _ in ep.canceled_orders),
            "layered_size": r6(layered),
            "execution_ts": ep.exec_ts, "executed": r6(ep.executed),
            "execution_order_ids": sorted(set(ep.exec_orders)),
            "last_cancel_ts": ev.ts, "cancel_after_execution_ms": ms(ev.ts - ep.exec_ts),
            "layer_to_execution_ratio": r6(layered / ep.executed),
            "own_resting_on_execution_side": r6(ep.exec_side_resting),
            "layers_partly_filled": r6(ep.layer_filled),
        }
        msg = (f"{ev.actor_id} layered {len(prices)} {ep.layer_side} orders "
               f"({layered:g} at {', '.join(f'{p:g}' for p in prices)}), executed "
               f"{ep.executed:g} on the {ep.exec_side} side, then cancelled the layers within "
               f"{ms(ev.ts - ep.exec_ts):g} ms")
        ep.confirm_at = ev.ts + self.requote_ns
        ep.held = (ev, verdict, evidence, msg)
        tr.confirming = ep
        self._confirm_q.append((ep.confirm_at, ep))
        return None

    def _confirm_due(self, now: int, *, all_held: bool = False) -> list[AnomalyFinding]:
        out: list[AnomalyFinding] = []
        q = self._confirm_q
        while q and (all_held or q[0][0] < now):
            _, ep = q.popleft()
            tr = self._traders.get(ep.key)
            if tr is not None and tr.confirming is ep:
                tr.confirming = None
            if ep.held is None:
                continue
            ev, verdict, evidence, msg = ep.held
            ep.held = None
            layered = evidence["layered_size"]
            requote = Threshold("max_requote_ratio", ep.replaced / layered if layered else 0.0,
                                self.cfg.max_requote_ratio, at_most=True, calibrates=False)
            full = evaluate([*verdict.thresholds, requote])
            if not full.passed:
                self._near.offer(full, ts=ev.ts, market_id=ev.market_id, actor_id=ev.actor_id,
                                 detail={"layer_side": ep.layer_side,
                                         "replaced": r6(ep.replaced), "layered": layered})
                continue
            evidence = {**evidence, "replaced_within_requote_window": r6(ep.replaced)}
            f = make_finding(self.name, self.category, ev, actor_id=ev.actor_id, verdict=full,
                             message=msg, citation=self.citation, evidence=evidence)
            out.append(attrs.evolve(f, ts=max(now, ev.ts)))
        return out

    def _verdict(self, ep: _Episode, tr: _Trader, now: int, *, levels: int | None = None,
                 elapsed_ns: int | None = None) -> Verdict:
        cfg = self.cfg
        layered = sum(ep.canceled.values()) + sum(ep.late.values())
        return evaluate([
            Threshold("min_layers", float(levels if levels is not None else len(ep.canceled)),
                      float(cfg.min_layers)),
            Threshold("cancel_within_ms", ms(elapsed_ns if elapsed_ns is not None
                                             else now - ep.exec_ts),
                      cfg.cancel_within_ms, at_most=True),
            Threshold("min_layer_to_execution_ratio", layered / ep.executed if ep.executed
                      else 0.0, cfg.min_layer_to_execution_ratio),
            Threshold("max_two_sided_ratio", ep.exec_side_resting / layered if layered
                      else 0.0, cfg.max_two_sided_ratio, at_most=True, calibrates=False),
        ])

    # ------------------------------------------------------------------ anonymous

    def _anonymous(self, ev: MarketEvent, w: LevelWithdrawal) -> None:
        """A withdrawal in an anonymous market: layers, once enough of them, are held
        ``requote_window_ms`` (see :meth:`_confirm_anonymous`)."""
        cfg = self.cfg
        key = (ev.market_id, w.side)
        pulled = self._pulled.get(key)
        if pulled is None:
            pulled = self._pulled[key] = deque()
        pulled.append((ev.ts, w.canceled))
        while pulled[0][0] < ev.ts - self.cancel_ns - self.anon_requote_ns:
            pulled.popleft()
        q = self._withdrawals.get(key)
        if q is None:
            q = self._withdrawals[key] = deque()
        while q and q[0].ts < ev.ts - self.cancel_ns:
            q.popleft()
        if w.canceled < 0.5 * w.added or w.executed_against <= 0:
            return  # mostly traded, or nothing traded against the other side: not a layer
        q.append(w)
        recent = [x for x in q if x.added_ts >= w.added_ts - self.placement_ns]
        prices = sorted({x.price for x in recent}, reverse=(w.side == BUY))
        if len(prices) < 2:
            return
        layered = sum(x.added for x in recent)
        executed = min(x.executed_against for x in recent)
        life = max(x.ts for x in recent) - min(x.added_ts for x in recent)
        verdict = evaluate([
            Threshold("min_layers", float(len(prices)), float(cfg.min_layers)),
            Threshold("cancel_within_ms", ms(max(x.ts for x in recent)
                                             - min(x.ts for x in recent)),
                      cfg.cancel_within_ms, at_most=True),
            Threshold("min_layer_to_execution_ratio", layered / executed,
                      cfg.min_layer_to_execution_ratio),
        ])
        if not verdict.passed:
            self._near.offer(verdict, ts=ev.ts, market_id=ev.market_id, actor_id=None,
                             detail={"side": w.side, "prices": prices, "anonymous": True})
            return
        q.clear()
        evidence = {
            "layer_side": w.side, "layer_prices": [r6(p) for p in prices],
            "layer_sizes": [r6(x.added) for x in sorted(recent, key=lambda x: x.price,
                                                         reverse=(w.side == BUY))],
            "layered_size": r6(layered), "executed": r6(executed),
            "first_added_ts": min(x.added_ts for x in recent),
            "last_cancel_ts": ev.ts,
            "episode_ms": ms(life), "layer_to_execution_ratio": r6(layered / executed),
            "note": "no actor identity on this venue: layers seen as book levels gaining and "
                    "losing size untraded; executions are tape prints against the other "
                    "side meanwhile (any print where prints name no side)",
        }
        msg = (f"anonymous layers on the {w.side} side at {len(prices)} levels "
               f"({layered:g} in total) withdrawn untraded while {executed:g} traded against "
               f"the other side")
        self._anon_held.append((ev.ts + self.anon_requote_ns, w.side,
                                self._levels.grown(ev.market_id, w.side),
                                sorted({x.ts for x in recent}), ev, verdict, evidence, msg))

    def _confirm_anonymous(self, now: int, *, all_held: bool = False) -> list[AnomalyFinding]:
        """Anonymous layers held past ``anonymous_requote_window_ms``: reported unless that
        side of the book grew back by ``anonymous_max_requote_ratio`` of the layered size
        meanwhile, or
        the other side was pulled at the same moments by ``max_two_sided_ratio`` of it.

        Without identity a market maker's requote looks like layering: its ladder
        is withdrawn untraded while prints happen. It is put straight back, at new
        prices; layers are not. (Others adding size in that half second count too,
        which can only hide an episode, not make one.)
        """
        out: list[AnomalyFinding] = []
        q = self._anon_held
        while q and (all_held or q[0][0] < now):
            _, side, grown_then, moments, ev, verdict, evidence, msg = q.popleft()
            layered = evidence["layered_size"]
            replaced = self._levels.grown(ev.market_id, side) - grown_then
            requote = Threshold("max_requote_ratio", replaced / layered if layered else 0.0,
                                self.cfg.anonymous_max_requote_ratio, at_most=True,
                                calibrates=False)
            # the other side's withdrawals at the same moments as the layers' (a
            # market maker pulls its whole two-sided ladder at once; a layerer
            # pulls its layers and leaves the genuine side alone)
            other = SELL if side == BUY else BUY
            both = sum(c for t, c in self._pulled.get((ev.market_id, other), ())
                       if any(abs(t - m) <= _SAME_MOMENT_NS for m in moments))
            two_sided = Threshold("max_two_sided_ratio", both / layered if layered else 0.0,
                                  self.cfg.max_two_sided_ratio, at_most=True, calibrates=False)
            full = evaluate([*verdict.thresholds, two_sided, requote])
            if not full.passed:
                self._near.offer(full, ts=ev.ts, market_id=ev.market_id, actor_id=None,
                                 detail={"side": side, "replaced": r6(replaced),
                                         "layered": layered, "anonymous": True})
                continue
            evidence = {**evidence, "replaced_within_requote_window": r6(replaced),
                        "other_side_withdrawn": r6(both)}
            f = make_finding(self.name, self.category, ev, actor_id=None, verdict=full,
                             message=msg, citation=self.citation, evidence=evidence,
                             anonymous=True)
            out.append(attrs.evolve(f, ts=max(now, ev.ts)))
        return out

    # ------------------------------------------------------------------ state

    def _expire(self, now: int) -> None:
        q = self._expiry
        while q and q[0][0] < now:
            _, ep = q.popleft()
            tr = self._traders.get(ep.key)
            if tr is None or tr.episode is not ep or ep.deadline + self.cancel_ns >= now:
                continue
            tr.episode = None
            if not ep.fired:
                self._report_miss(ep, tr)
        self._expire_at = q[0][0] if q else NEVER

    def _report_miss(self, ep: _Episode, tr: _Trader) -> None:
        if ep.best is not None:
            verdict = ep.best
        elif ep.late_levels_ts:
            verdict = self._verdict(ep, tr, ep.late_levels_ts,
                                    levels=len(ep.canceled.keys() | ep.late.keys()))
        elif ep.canceled:
            verdict = self._verdict(ep, tr, ep.deadline, elapsed_ns=self.cancel_ns)
        else:
            return
        self._near.offer(verdict, ts=ep.exec_ts, market_id=ep.key[1], actor_id=ep.key[0],
                         detail={"layer_side": ep.layer_side, "executed": r6(ep.executed),
                                 "levels_cancelled": len(ep.canceled)})

    def finish(self, ctx: Any = None) -> list[AnomalyFinding]:
        last = max((t.last_ts for t in self._traders.values()), default=0)
        out = self._confirm_due(last, all_held=True)
        out += self._confirm_anonymous(last, all_held=True)
        for _, tr in sorted(self._traders.items()):
            ep = tr.episode
            if ep is not None and not ep.fired:
                self._report_miss(ep, tr)
                tr.episode = None
        return out

    def evict_idle(self, before_ts: int) -> None:
        for key in [k for k, t in self._traders.items() if t.last_ts < before_ts]:
            del self._traders[key]
        for m in [m for m, ts in self._identified.items() if ts < before_ts]:
            del self._identified[m]
        for key in [k for k, q in self._withdrawals.items() if not q or q[-1].ts < before_ts]:
            del self._withdrawals[key]
        for key in [k for k, d in self._pulled.items() if not d or d[-1][0] < before_ts]:
            del self._pulled[key]
        self._levels.evict_idle(before_ts)
