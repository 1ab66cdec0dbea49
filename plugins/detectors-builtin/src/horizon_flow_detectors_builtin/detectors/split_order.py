"""Split orders: one actor's large parent order worked as many similar child
orders on one side over time.

Toth, Palit, Lillo and Farmer, "Why is equity order flow so persistent?"
(Journal of Economic Dynamics and Control, 2015): large hidden "metaorders"
are split into many small child orders executed over time, which is what
makes order flow persistent. Working an order is lawful; it is surfaced
because it moves prices over its life and because splitting can be used to
stay under reporting or surveillance thresholds. Severity is capped at
``medium`` for that reason.

Per actor, market and side, the child orders executed within ``window_s``
(children are distinct ``order_id`` values; fills of one child add up) are
summed in O(1): count, total, sum of squares (for the coefficient of
variation of child sizes). It fires once per episode when there are at least
``min_children`` children totalling ``min_parent_volume``, sizes similar
(CV at most ``max_child_cv``, no child over ``max_child_share`` of the
total) and the actor trades the other side little (at most
``max_opposite_share``): a market maker trades both sides.

Needs actor identity: on anonymous venues one trader's children cannot be
told from the crowd's, and this detector stays silent there.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import attrs

from horizon_flow_core.events import MarketEvent
from horizon_flow_core.findings import AnomalyFinding

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
    non_negative,
    opposite,
    positive,
    r6,
    s_to_ns,
)
from .base import DetectorBase

CITATION = (
    "Toth, Palit, Lillo and Farmer, 'Why is equity order flow so persistent?', Journal of "
    "Economic Dynamics and Control 51, 2015 (metaorders split into many child orders)"
)


@attrs.frozen
class SplitOrderConfig:
    """``[detectors.split_order]``."""

    #: Rolling window over which one parent's children are collected.
    window_s: float = attrs.field(default=600.0, validator=positive)
    #: Fewest child orders.
    min_children: int = attrs.field(default=10, validator=at_least(2))
    #: Smallest total executed by the children.
    min_parent_volume: float = attrs.field(default=1000.0, validator=positive)
    #: Largest coefficient of variation of child sizes ("similar" children).
    max_child_cv: float = attrs.field(default=0.25, validator=non_negative)
    #: Fewest distinct execution prices among the children (children that all
    #: trade at one price are an iceberg's slices, the iceberg detector's case).
    min_distinct_prices: int = attrs.field(default=2, validator=at_least(1))
    #: Largest share of the children executed at one price (the same case: an
    #: iceberg's slices among a few other trades of its owner).
    max_one_price_share: float = attrs.field(default=0.5, validator=fraction)
    #: Largest single child as a share of the total.
    max_child_share: float = attrs.field(default=0.25, validator=fraction)
    #: Largest volume on the other side, as a share of the parent's.
    max_opposite_share: float = attrs.field(default=0.1, validator=fraction)
    #: Where all of an actor's children are not similar (its other trades in the
    #: window, children only partly filled), the children within this share of
    #: the volume-weighted median child size are judged on their own as the
    #: parent...
    similar_band: float = attrs.field(default=0.3, validator=fraction)
    #: ...when they make at least this share of its volume on that side (a
    #: trader of random sizes always has some children that look alike).
    min_similar_share: float = attrs.field(default=0.75, validator=fraction)
    near_miss_capacity: int = attrs.field(default=20, validator=non_negative)


@attrs.define(slots=True)
class _Side:
    children: dict[str, float] = attrs.field(factory=dict)  # child id -> executed size
    first: dict[str, int] = attrs.field(factory=dict)  # child id -> first fill ts
    price: dict[str, float] = attrs.field(factory=dict)  # child id -> first fill price
    prices: dict[float, int] = attrs.field(factory=dict)  # price -> children there
    # made on the first child: many traders only ever trade one side (memory)
    order: deque[tuple[int, str]] | None = None
    total: float = 0.0
    sumsq: float = 0.0
    fired_ts: int = -1
    best: tuple[Verdict, int, dict[str, Any]] | None = None
    cored_at: int = 0  # children counted when the similar core was last judged

    def add(self, child: str, size: float, ts: int, price: float) -> None:
        old = self.children.get(child)
        if old is None:
            self.children[child] = size
            self.first[child] = ts
            self.price[child] = price
            self.prices[price] = self.prices.get(price, 0) + 1
            if self.order is None:
                self.order = deque()
            self.order.append((ts, child))
            self.sumsq += size * size
        else:
            self.children[child] = old + size
            self.sumsq += (old + size) ** 2 - old * old
        self.total += size

    def expire(self, cutoff: int) -> None:
        order = self.order
        while order and order[0][0] < cutoff:
            _, child = order.popleft()
            size = self.children.pop(child, 0.0)
            self.first.pop(child, None)
            p = self.price.pop(child, None)
            if p is not None:
                n = self.prices.get(p, 0) - 1
                if n > 0:
                    self.prices[p] = n
                else:
                    self.prices.pop(p, None)
            self.total -= size
            self.sumsq -= size * size
        if not self.children:  # reset float residue
            self.total = self.sumsq = 0.0

    def cv(self) -> float:
        return _cv(len(self.children), self.total, self.sumsq)


@attrs.define(slots=True)
class _Trader:
    sides: dict[str, _Side] = attrs.field(factory=lambda: {BUY: _Side(), SELL: _Side()})
    seq: int = 0  # names children of fills that carry no order id
    last_ts: int = 0


#: Most children for which the similar core is looked for (a sort per new child).
MAX_CORE_CHILDREN = 512


class SplitOrderDetector(DetectorBase):
    name = "split_order"
    category = "split_order"
    citation = CITATION
    kinds = frozenset({"order.filled", "trade.tape"})

    def __init__(self, config: SplitOrderConfig | None = None) -> None:
        cfg = config or SplitOrderConfig()
        super().__init__(cfg)
        self.cfg = cfg
        self.window_ns = s_to_ns(cfg.window_s)
        self._traders: dict[tuple[str, str], _Trader] = {}
        self._seen: dict[tuple[str, str, int, float, float], None] = {}
        self._seen_q: deque[tuple[int, tuple[str, str, int, float, float]]] = deque()

    def on_event(self, ev: MarketEvent, ctx: Any) -> list[AnomalyFinding] | None:
        q = self._seen_q
        while q and q[0][0] < ev.ts:
            self._seen.pop(q.popleft()[1], None)
        actor, size = ev.actor_id, ev.size
        if actor is None or ev.side not in (BUY, SELL) or not size or ev.price is None:
            return None
        key = (actor, ev.market_id, ev.ts, ev.price, size)
        if key in self._seen:
            return None  # the same execution as a fill and as a print
        self._seen[key] = None
        q.append((ev.ts + 5_000_000_000, key))
        tkey = (actor, ev.market_id)
        tr = self._traders.get(tkey)
        if tr is None:
            tr = self._traders[tkey] = _Trader()
        tr.last_ts = ev.ts
        cutoff = ev.ts - self.window_ns
        side = tr.sides[ev.side]
        other = tr.sides[opposite(ev.side) or SELL]
        for st in (side, other):
            st.expire(cutoff)
            if not st.children and st.best is not None:  # the episode ended short
                verdict, at, detail = st.best
                self._near.offer(verdict, ts=at, market_id=ev.market_id, actor_id=actor,
                                 detail=detail)
                st.best = None
        if ev.order_id is not None:
            child = ev.order_id
        else:
            tr.seq += 1
            child = f"#{tr.seq}"
        side.add(child, size, ev.ts, ev.price)
        if side.fired_ts >= 0:
            if ev.ts - side.fired_ts < self.window_ns:
                return None  # this parent was reported; one finding per episode
            side.fired_ts = -1
        return self._judge(ev, actor, side, other)

    def _judge(self, ev: MarketEvent, actor: str, side: _Side, other: _Side
               ) -> list[AnomalyFinding] | None:
        cfg = self.cfg
        n = len(side.children)
        if n < max(2, cfg.min_children // 2):
            return None
        cv = side.cv()
        opp = other.total / side.total if side.total > 0 else 0.0
        if opp > 3.4 * cfg.max_opposite_share + 1e-12 or side.total < 0.3 * cfg.min_parent_volume:
            return None  # so far from a threshold it could not even be a near-miss
        verdict: Verdict | None = None
        largest = 0.0
        # Far enough from max_child_cv that it could not even be a near-miss
        # (closeness under 0.3): skip building the verdict.
        if cv <= 3.4 * cfg.max_child_cv:
            verdict, largest = self._verdict(n, side.total, cv, opp, side.prices,
                                             side.children.values())
            if verdict.passed:
                return self._finding(ev, actor, side, other, verdict, list(side.children),
                                     side.total, cv, largest, opp)
        # Not all children alike: the similar ones may still be a parent worked
        # among the actor's other trades (judged once per new child).
        if (n >= cfg.min_children and side.total >= cfg.min_parent_volume
                and opp <= cfg.max_opposite_share and n != side.cored_at
                and n <= MAX_CORE_CHILDREN):
            side.cored_at = n
            core = self._similar_core(side)
            sizes = [side.children[c] for c in core]
            total = sum(sizes)
            if total < cfg.min_similar_share * side.total:
                return self._near_miss(ev, side, verdict, n, cv)
            core_cv = _cv(len(sizes), total, sum(x * x for x in sizes))
            prices: dict[float, int] = {}
            for c in core:
                p = side.price[c]
                prices[p] = prices.get(p, 0) + 1
            core_verdict, core_largest = self._verdict(len(core), total, core_cv, opp, prices,
                                                       sizes)
            if core_verdict.passed:
                return self._finding(ev, actor, side, other, core_verdict, core, total,
                                     core_cv, core_largest, opp)
        return self._near_miss(ev, side, verdict, n, cv)

    @staticmethod
    def _near_miss(ev: MarketEvent, side: _Side, verdict: Verdict | None, n: int, cv: float
                   ) -> None:
        """Keep ``verdict`` as the episode's closest miss when it is the closest yet."""
        if verdict is not None and (side.best is None
                                    or verdict.closeness > side.best[0].closeness):
            side.best = (verdict, ev.ts, {"side": ev.side, "children": n,
                                          "volume": r6(side.total), "cv": r6(cv)})

    def _verdict(self, n: int, total: float, cv: float, opp: float, prices: dict[float, int],
                 sizes: Any) -> tuple[Verdict, float]:
        """The verdict on ``n`` children of ``total`` volume (``prices``: children per
        execution price), and the largest child (0 when the rest failed: that part is
        O(children))."""
        cfg = self.cfg
        checks = [
            Threshold("min_children", float(n), float(cfg.min_children)),
            Threshold("min_parent_volume", total, cfg.min_parent_volume),
            Threshold("max_child_cv", cv, cfg.max_child_cv, at_most=True, calibrates=False),
            Threshold("max_opposite_share", opp, cfg.max_opposite_share, at_most=True,
                      calibrates=False),
            Threshold("min_distinct_prices", float(len(prices)),
                      float(cfg.min_distinct_prices), calibrates=False),
        ]
        verdict = evaluate(checks)
        largest = 0.0
        if verdict.passed:
            largest = max(sizes)
            checks.append(Threshold("max_child_share", largest / total,
                                    cfg.max_child_share, at_most=True, calibrates=False))
            checks.append(Threshold("max_one_price_share", max(prices.values()) / n,
                                    cfg.max_one_price_share, at_most=True, calibrates=False))
            verdict = evaluate(checks)
        return verdict, largest

    def _similar_core(self, side: _Side) -> list[str]:
        """The children within ``similar_band`` of the volume-weighted median child size
        (the size of the child in which half the volume is reached: the parent's
        children, not the actor's many small trades), in the order first executed."""
        half = side.total / 2
        acc = 0.0
        median = 0.0
        for median in sorted(side.children.values()):
            acc += median
            if acc >= half:
                break
        lo, hi = median * (1.0 - self.cfg.similar_band), median * (1.0 + self.cfg.similar_band)
        return [c for c, sz in side.children.items() if lo <= sz <= hi]

    def _finding(self, ev: MarketEvent, actor: str, side: _Side, other: _Side,
                 verdict: Verdict, children: list[str], total: float, cv: float,
                 largest: float, opp: float) -> list[AnomalyFinding]:
        cfg = self.cfg
        side.fired_ts = ev.ts
        side.best = None
        n = len(children)
        first_ts = min(side.first[c] for c in children)
        mean = total / n
        evidence = {
            "side": ev.side, "children": n, "parent_volume": r6(total),
            "mean_child_size": r6(mean), "child_size_cv": r6(cv),
            "largest_child": r6(largest), "largest_child_share": r6(largest / total),
            "opposite_volume": r6(other.total), "opposite_share": r6(opp),
            "distinct_prices": len({side.price[c] for c in children}),
            "first_child_ts": first_ts, "last_child_ts": ev.ts,
            "span_ms": ms(ev.ts - first_ts), "window_s": cfg.window_s,
            "child_order_ids": sorted(children)[:50],
        }
        if n < len(side.children):
            # the actor's other executions on this side in the window, left out
            evidence["other_children"] = len(side.children) - n
            evidence["other_volume"] = r6(side.total - total)
        msg = (f"{actor} worked a {ev.side} parent of {total:g} as {n} child orders "
               f"averaging {mean:g} (size CV {cv:.2f}) over {ms(ev.ts - first_ts) / 1000:g} s, "
               f"trading the other side for {opp:.0%} of that")
        return [make_finding(self.name, self.category, ev, actor_id=actor, verdict=verdict,
                             message=msg, citation=self.citation, evidence=evidence,
                             severity_cap="medium")]

    def finish(self, ctx: Any = None) -> list[AnomalyFinding]:
        for (actor, market), tr in sorted(self._traders.items()):
            for side in (BUY, SELL):
                st = tr.sides[side]
                if st.best is not None:
                    verdict, ts, detail = st.best
                    self._near.offer(verdict, ts=ts, market_id=market, actor_id=actor,
                                     detail=detail)
                    st.best = None
        return []

    def evict_idle(self, before_ts: int) -> None:
        for key in [k for k, t in self._traders.items() if t.last_ts < before_ts]:
            del self._traders[key]


def _cv(n: int, total: float, sumsq: float) -> float:
    """Coefficient of variation (population) of ``n`` sizes summing to ``total``, their
    squares to ``sumsq``; 0 for fewer than two."""
    if n < 2 or total <= 0:
        return 0.0
    mean = total / n
    var = max(sumsq / n - mean * mean, 0.0)
    return math.sqrt(var) / mean
