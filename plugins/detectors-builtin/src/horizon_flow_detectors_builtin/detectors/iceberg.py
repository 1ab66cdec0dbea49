"""Iceberg orders: a price level that keeps trading more than it ever shows,
refilling to the same displayed size after each depletion.

Zotikov and Antonov, "CME iceberg order detection and prediction"
(Quantitative Finance, 2021): an iceberg shows a constant tip; each time the
tip is consumed the level is replenished to about the same size, so volume
executed at the level exceeds its displayed size while the level refills.

For each (market, side, price) level this detector keeps an episode: the
displayed *tip* (the level's largest displayed size), the volume executed
there and how often the level was *refilled*: taken from (nearly) empty back
to within ``refill_tolerance`` of the tip, within ``max_refill_delay_ms`` of
the execution that emptied it (an iceberg's reserve shows its next slice at
once; a market maker requoting on a timer, or others joining the level, come
later and at other sizes). It fires once per episode when executions,
refills and executed-over-tip reach their thresholds and most of the times
the level was emptied it came back that way (``min_refill_ratio``: a quoter
whose level is emptied and only sometimes re-posted in time is not hiding
size). Where fills name the passive side, one actor must hold at least
``min_passive_actor_share`` of the executed volume: an iceberg is one order.

Displayed sizes come from the venue's book (``book.snapshot``/``book.delta``)
or, where a market has no book feed, from the resting orders its order
events describe. Executions come from ``trade.tape`` prints (the passive
side is opposite the aggressor), or from ``order.filled`` where there is no
tape (each execution counted once). When the passive fills name one actor,
the finding names it; otherwise it is anonymous and says so.

Where order events name their actor, the same thresholds are also applied
order by order (:mod:`.iceberg_tranches`): one actor's order at a price is
filled in full and a new one of the same size (``tranche_size_tolerance``)
is posted there within ``max_refill_delay_ms``, tranche after tranche. On a
busy market others rest at the iceberg's level, which then never empties
and whose largest size is theirs, so the level path cannot see it; the
tranche chain can. One iceberg gives one finding, whichever path fires first.
"""

from __future__ import annotations

from typing import Any

import attrs

from horizon_flow_core.events import MarketEvent
from horizon_flow_core.findings import AnomalyFinding

from ..book import LevelBook, LevelChange, set_level
from ..calibration import margin
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
from .iceberg_tranches import Chain, TrancheChains, chain_evidence

CITATION = (
    "Zotikov and Antonov, 'CME iceberg order detection and prediction', Quantitative Finance "
    "21(11), 2021 (repeated executions at one level exceeding its displayed size while the "
    "level refills)"
)

MAX_LEVELS_PER_MARKET = 2000


@attrs.frozen
class IcebergConfig:
    """``[detectors.iceberg]``."""

    #: Fewest executions at the level in one episode.
    min_executions: int = attrs.field(default=3, validator=at_least(1))
    #: Fewest refills of the level after it was traded down.
    min_refills: int = attrs.field(default=2, validator=at_least(1))
    #: Volume executed at the level over its displayed tip.
    min_exec_to_display_ratio: float = attrs.field(default=2.0, validator=at_least(1.0))
    #: Smallest volume executed at the level.
    min_executed_volume: float = attrs.field(default=100.0, validator=non_negative)
    #: A refill takes the level from (nearly) empty, at most tolerance x its tip
    #: (the tip was consumed), back to within (1 +- tolerance) x its tip.
    refill_tolerance: float = attrs.field(default=0.2, validator=fraction)
    #: Longest time from an execution at the level to the refill it triggers.
    max_refill_delay_ms: float = attrs.field(default=500.0, validator=positive)
    #: How far a refill's size may differ from the episode's first refill, and
    #: (where order events name actors) a tranche's size from the first
    #: tranche's, as a share of it. An iceberg shows one fixed size each time; a
    #: market maker re-quoting after a fill varies its size.
    tranche_size_tolerance: float = attrs.field(default=0.01, validator=fraction)
    #: The same for one actor's tranches (order events naming actors) while it
    #: quotes only the iceberg's side: iceberg orders may randomize each peak.
    randomized_tranche_tolerance: float = attrs.field(default=0.3, validator=fraction)
    #: Refills over the times the level was emptied (by trades or cancels).
    min_refill_ratio: float = attrs.field(default=0.6, validator=fraction)
    #: Where passive fills carry actors: the largest one's share of the volume.
    min_passive_actor_share: float = attrs.field(default=0.8, validator=fraction)
    #: An episode with no activity at its level for this long ends.
    episode_timeout_ms: float = attrs.field(default=60_000.0, validator=positive)
    near_miss_capacity: int = attrs.field(default=20, validator=non_negative)


@attrs.define(slots=True)
class _Level:
    side: str
    price: float
    start_ts: int
    tip: float
    displayed: float
    executed: float = 0.0
    executions: int = 0
    since_refill: float = 0.0
    refills: int = 0
    emptied: int = 0
    refill_sizes: list[float] = attrs.field(factory=list)
    makers: dict[str, float] = attrs.field(factory=dict)
    last_exec_ts: int = 0
    last_ts: int = 0
    fired: bool = False
    # The closest miss of the episode so far: its closeness, and the numbers its
    # thresholds were judged on (the Verdict is built from them only when the
    # miss is reported, not at each execution that comes closer).
    best: _Values | None = None
    best_closeness: float = 0.0
    # the level's place in its market's order of first insertion (evict_idle ends
    # episodes in that order, as one dict keyed by (side, price) once kept them)
    seq: int = 0


#: The numbers an execution is judged on: executions, refills, executed over
#: tip, executed volume, refill ratio and, only where passive fills name enough
#: of the volume, the top passive actor's share of the attributed volume.
_Values = tuple[float, ...]


class _OrderBook:
    """Displayed sizes rebuilt from order events, for markets without a book feed."""

    def __init__(self) -> None:
        self.book = LevelBook()
        self.orders: dict[str, tuple[str, float, float]] = {}

    def _set(self, side: str, price: float, delta: float) -> LevelChange:
        levels = self.book.levels(side)
        old = levels.get(price, 0.0)
        new = max(old + delta, 0.0)
        if new > 1e-12:
            levels[price] = new
        else:
            levels.pop(price, None)
            new = 0.0
        return (side, price, old, new)

    def apply(self, ev: MarketEvent) -> list[LevelChange]:
        oid = ev.order_id
        if oid is None:
            return []
        kind = ev.kind
        if kind == "order.placed":
            if ev.side not in (BUY, SELL) or ev.price is None or not ev.size:
                return []
            out = self._remove(oid)
            self.orders[oid] = (ev.side, ev.price, ev.size)
            out.append(self._set(ev.side, ev.price, ev.size))
            return out
        if kind == "order.canceled":
            return self._remove(oid)
        if kind == "order.filled":
            o = self.orders.get(oid)
            if o is None:
                return []
            size = min(ev.size or 0.0, o[2])
            left = o[2] - size
            if left > 1e-12:
                self.orders[oid] = (o[0], o[1], left)
            else:
                del self.orders[oid]
            return [self._set(o[0], o[1], -size)]
        if kind == "order.amended":
            o = self.orders.get(oid)
            if o is None:
                return []
            out = self._remove(oid)
            side, price = o[0], ev.price if ev.price is not None else o[1]
            size = ev.size if ev.size is not None else o[2]
            self.orders[oid] = (side, price, size)
            out.append(self._set(side, price, size))
            return out
        return []

    def _remove(self, oid: str) -> list[LevelChange]:
        o = self.orders.pop(oid, None)
        if o is None:
            return []
        return [self._set(o[0], o[1], -o[2])]


@attrs.define(slots=True)
class _Market:
    # one actor's tranches where order events name actors (see iceberg_tranches)
    tranches: TrancheChains
    book: LevelBook = attrs.field(factory=LevelBook)
    orders: _OrderBook = attrs.field(factory=_OrderBook)
    has_book: bool = False
    has_tape: bool = False
    # Episodes by price, one dict a side: the book.delta hot path looks a level
    # up by its price alone (no (side, price) tuple built and hashed per delta).
    bid_levels: dict[float, _Level] = attrs.field(factory=dict)
    ask_levels: dict[float, _Level] = attrs.field(factory=dict)
    seen: dict[tuple[int, float, float, str], None] = attrs.field(factory=dict)
    last_ts: int = 0

    def episodes(self, side: str) -> dict[float, _Level]:
        return self.bid_levels if side == BUY else self.ask_levels

    def sorted_levels(self) -> list[_Level]:
        """Every episode, by (side, price)."""
        keyed = [(BUY, p, lv) for p, lv in self.bid_levels.items()]
        keyed += [(SELL, p, lv) for p, lv in self.ask_levels.items()]
        keyed.sort(key=lambda t: (t[0], t[1]))
        return [lv for _, _, lv in keyed]


class IcebergDetector(DetectorBase):
    name = "iceberg"
    category = "iceberg"
    citation = CITATION
    kinds = frozenset({"book.snapshot", "book.delta", "trade.tape", "order.placed",
                       "order.canceled", "order.amended", "order.filled"})

    def __init__(self, config: IcebergConfig | None = None) -> None:
        cfg = config or IcebergConfig()
        super().__init__(cfg)
        self.cfg = cfg
        self.timeout_ns = ms_to_ns(cfg.episode_timeout_ms)
        self.refill_ns = ms_to_ns(cfg.max_refill_delay_ms)
        self._tol = cfg.refill_tolerance
        #: what each of _Values requires
        self._required = (float(cfg.min_executions), float(cfg.min_refills),
                          cfg.min_exec_to_display_ratio, cfg.min_executed_volume,
                          cfg.min_refill_ratio, cfg.min_passive_actor_share)
        self._markets: dict[str, _Market] = {}
        self._seq = 0  # next _Level.seq

    def on_event(self, ev: MarketEvent, ctx: Any) -> list[AnomalyFinding] | None:
        ts = ev.ts
        mk = self._markets.get(ev.market_id)
        if mk is None:
            mk = self._markets[ev.market_id] = _Market(
                tranches=TrancheChains(self.refill_ns, self.cfg.tranche_size_tolerance,
                                       self.cfg.randomized_tranche_tolerance))
        mk.last_ts = ts
        kind = ev.kind
        if kind == "book.delta":
            # The hot path (about half of a feed's events): the level is updated
            # here rather than by LevelBook.delta (no change tuple), and a delta
            # at a level with no episode that does not grow (most of them) ends
            # without calling _displayed_at.
            if not mk.has_book:
                self._book_feed(mk)
            price, size = ev.price, ev.size
            if price is None or size is None:
                return None
            side = ev.side
            if side == BUY:
                levels = mk.book.bids
                episodes = mk.bid_levels
            elif side == SELL:
                levels = mk.book.asks
                episodes = mk.ask_levels
            else:
                return None
            old = levels.get(price, 0.0)
            new = set_level(levels, price, size, old)
            if new == old:
                return None
            lv = episodes.get(price)
            if lv is None and new <= old:
                return None  # a level shrinking with no episode: nothing to follow
            self._displayed_at(ev, mk, lv, side, price, old, new)
            return None
        if kind == "order.placed" or kind == "order.canceled" or kind == "order.amended":
            # identified orders: the tranches one actor posts (whatever else rests there)
            tranches = mk.tranches
            if kind == "order.placed":
                actor = ev.actor_id
                ended = tranches.placed(ev, actor) if actor is not None else None
            elif ev.order_id in tranches.orders:
                ended = tranches.withdrawn(ev.order_id, ev.actor_id)
            else:
                ended = None
            if ended is not None:
                self._end_chain(ended, ev.market_id)
            if mk.has_book:
                return None  # the book says what is displayed: only executions matter
        if kind == "book.snapshot":
            self._book_feed(mk)
            for change in mk.book.apply(ev):
                self._displayed(ev, mk, change)
            return None
        if kind == "trade.tape":
            mk.has_tape = True
            side = self._passive_side(ev, mk)
            if side is None:
                return None
            return self._execution(ev, mk, side, ev.price or 0.0, ev.size or 0.0)
        # order events: where the market has a book feed, the book says what is
        # displayed and the order-built book is never read again
        if not mk.has_book:
            for change in mk.orders.apply(ev):
                self._displayed(ev, mk, change)
        if kind != "order.filled" or ev.price is None or not ev.size:
            return None
        passive = self._fill_passive_side(ev, mk)
        if passive is None:
            return None
        by_chain: list[AnomalyFinding] | None = None
        if ev.actor_id is not None and ev.aggressor is False:
            lv = mk.episodes(passive).get(ev.price)
            if lv is not None or not mk.has_tape:
                lv = lv or self._level(ev, mk, passive, ev.price)
                lv.makers[ev.actor_id] = lv.makers.get(ev.actor_id, 0.0) + ev.size
            if mk.tranches.orders:
                chain = mk.tranches.filled(ev, ev.size, passive)
                if chain is not None and not chain.fired:
                    by_chain = self._judge_chain(ev, mk, chain)
        if mk.has_tape:
            return by_chain  # volume comes from the tape
        key = (ev.ts, ev.price, ev.size, ev.tx_hash or "")
        if key in mk.seen:
            return None
        mk.seen[key] = None
        if len(mk.seen) > 4096:
            for stale in list(mk.seen)[:2048]:
                del mk.seen[stale]
        found = self._execution(ev, mk, passive, ev.price, ev.size)
        if by_chain:
            return by_chain + found if found else by_chain
        return found

    @staticmethod
    def _book_feed(mk: _Market) -> None:
        if not mk.has_book:
            mk.has_book = True
            mk.orders = _OrderBook()  # no longer consulted: free what it held

    # ------------------------------------------------------------------ sides

    @staticmethod
    def _infer(price: float, book: LevelBook) -> str | None:
        ask, bid = book.best(SELL), book.best(BUY)
        if ask is not None and price >= ask:
            return SELL
        if bid is not None and price <= bid:
            return BUY
        if book.size_at(SELL, price) > 0:
            return SELL
        if book.size_at(BUY, price) > 0:
            return BUY
        return None

    def _passive_side(self, ev: MarketEvent, mk: _Market) -> str | None:
        if ev.side in (BUY, SELL):
            return opposite(ev.side)
        if ev.price is None:
            return None
        return self._infer(ev.price, mk.book if mk.has_book else mk.orders.book)

    def _fill_passive_side(self, ev: MarketEvent, mk: _Market) -> str | None:
        if ev.side in (BUY, SELL) and ev.aggressor is not None:
            return ev.side if ev.aggressor is False else opposite(ev.side)
        return self._infer(ev.price or 0.0, mk.book if mk.has_book else mk.orders.book)

    # ------------------------------------------------------------------ levels

    def _level(self, ev: MarketEvent, mk: _Market, side: str, price: float) -> _Level:
        episodes = mk.episodes(side)
        lv = episodes.get(price)
        if lv is not None and ev.ts - lv.last_ts > self.timeout_ns:
            self._end(lv, ev.market_id)
            lv = None
        if lv is None:
            shown = (mk.book if mk.has_book else mk.orders.book).size_at(side, price)
            if len(mk.bid_levels) + len(mk.ask_levels) >= MAX_LEVELS_PER_MARKET:
                # the least recently active episode, ties by (side, price)
                oldest = min([(o.last_ts, BUY, p) for p, o in mk.bid_levels.items()]
                             + [(o.last_ts, SELL, p) for p, o in mk.ask_levels.items()])
                self._end(mk.episodes(oldest[1]).pop(oldest[2]), ev.market_id)
            # an episode replacing a timed-out one keeps its place in the order
            prev = episodes.get(price)
            if prev is not None:
                seq = prev.seq
            else:
                seq = self._seq
                self._seq += 1
            lv = episodes[price] = _Level(side, price, ev.ts, shown, shown, seq=seq)
        lv.last_ts = ev.ts
        return lv

    def _displayed(self, ev: MarketEvent, mk: _Market, change: LevelChange) -> None:
        side, price, old, new = change
        self._displayed_at(ev, mk, mk.episodes(side).get(price), side, price, old, new)

    def _displayed_at(self, ev: MarketEvent, mk: _Market, lv: _Level | None, side: str,
                      price: float, old: float, new: float) -> None:
        """A displayed size changed from ``old`` to ``new``; ``lv`` is the level's episode."""
        if lv is None:
            if new <= old:
                return
            lv = self._level(ev, mk, side, price)
        elif ev.ts - lv.last_ts > self.timeout_ns:
            lv = self._level(ev, mk, side, price)
        lv.last_ts = ev.ts
        lv.displayed = new
        tol = self._tol
        if new < old:
            if new <= tol * lv.tip < old:
                lv.emptied += 1
        # A refill puts the level back to about its tip (an iceberg's constant
        # peak), not just anywhere: others joining a level add arbitrary sizes.
        # And it adds the same size each time (the tranche), where a market
        # maker's requotes vary theirs.
        elif (new > old and lv.since_refill > 0 and old <= tol * lv.tip
              and (1.0 - tol) * lv.tip <= new <= (1.0 + tol) * lv.tip
              and ev.ts - lv.last_exec_ts <= self.refill_ns
              and (not lv.refill_sizes or abs(new - old - lv.refill_sizes[0])
                   <= self.cfg.tranche_size_tolerance * lv.refill_sizes[0])):
            lv.refills += 1
            lv.since_refill = 0.0
            if len(lv.refill_sizes) < 50:
                lv.refill_sizes.append(r6(new - old))
        if new > lv.tip and lv.executions == 0:
            lv.tip = new  # still building the level: its tip is what it shows

    def _execution(self, ev: MarketEvent, mk: _Market, side: str, price: float, size: float
                   ) -> list[AnomalyFinding] | None:
        ts = ev.ts
        lv = (mk.bid_levels if side == BUY else mk.ask_levels).get(price)
        if lv is None or ts - lv.last_ts > self.timeout_ns:
            lv = self._level(ev, mk, side, price)
        else:
            lv.last_ts = ts  # as _level does
        if lv.tip <= 0:
            lv.tip = max(lv.displayed, size)
        executed = lv.executed = lv.executed + size
        executions = lv.executions = lv.executions + 1
        lv.last_exec_ts = ts
        lv.since_refill += size
        if lv.fired:
            return None
        # Most executions do not pass: judge on plain numbers (the arithmetic of
        # evaluate's closeness, threshold by threshold in evaluate's order) and
        # build the Threshold objects only for a finding or a reported miss.
        refills = lv.refills
        by_maker = lv.makers
        attributed = sum(by_maker.values())
        values: _Values = (float(executions), float(refills), executed / lv.tip, executed,
                           refills / max(lv.emptied, refills, 1))
        if by_maker and not attributed < 0.5 * executed:
            values += (max(by_maker.values()) / attributed,)
        verdict = self._judged(lv, values)
        if verdict is None:
            return None
        makers = sorted(lv.makers)
        actor = makers[0] if len(makers) == 1 else None
        if actor is not None:
            chain = mk.tranches.chain(actor, side, price)
            if chain is not None:
                chain.fired = True  # the same iceberg, reported once
        anonymous = actor is None
        evidence = {
            "side": side, "price": r6(price), "displayed_tip": r6(lv.tip),
            "executed_volume": r6(lv.executed), "executions": lv.executions,
            "refills": lv.refills, "times_emptied": lv.emptied,
            "refill_sizes": list(lv.refill_sizes),
            "exec_to_display_ratio": r6(lv.executed / lv.tip),
            "episode_start_ts": lv.start_ts, "episode_ms": ms(ev.ts - lv.start_ts),
            "displayed_from": "book" if mk.has_book else "orders",
            "executions_from": "tape" if mk.has_tape else "fills",
            "passive_actors": {a: r6(lv.makers[a]) for a in makers[:10]},
        }
        if anonymous:
            evidence["note"] = ("no single passive actor identified: the hidden size is "
                                "inferred from book and tape alone")
        who = f"{actor}'s" if actor else "a"
        msg = (f"{who} hidden {'bid' if side == BUY else 'offer'} at {price:g}: "
               f"{lv.executed:g} executed in {lv.executions} trades against a displayed "
               f"{lv.tip:g} ({lv.executed / lv.tip:.1f}x), refilled {lv.refills} times")
        return [make_finding(self.name, self.category, ev, actor_id=actor, verdict=verdict,
                             message=msg, citation=self.citation, evidence=evidence,
                             anonymous=anonymous)]

    def _judge_chain(self, ev: MarketEvent, mk: _Market, chain: Chain
                     ) -> list[AnomalyFinding] | None:
        """A tranche of ``chain`` was just filled in full: judge the chain.

        The numbers are the level episode's, counted over the actor's own
        orders: executions and volume of its tranches, refills (tranches after
        the first), executed over the tranche size. Every filled tranche but
        the last was refilled in time, or the chain would have ended, so the
        refill ratio is 1.
        """
        lv = mk.episodes(chain.side).get(chain.price)
        if lv is not None and lv.fired:
            chain.fired = True  # the level's episode already reported this iceberg
            return None
        values: _Values = (float(chain.executions), float(chain.refills),
                           chain.executed / chain.size, chain.executed, 1.0)
        verdict = self._judged(chain, values)
        if verdict is None:
            return None
        if lv is not None:
            lv.fired = True
        side, price, actor = chain.side, chain.price, chain.actor
        evidence = {
            "side": side, "price": r6(price), "displayed_tip": r6(chain.size),
            "executed_volume": r6(chain.executed), "executions": chain.executions,
            "refills": chain.refills, "times_emptied": chain.refills + 1,
            "refill_sizes": [r6(x) for x in chain.refill_sizes],
            "exec_to_display_ratio": r6(chain.executed / chain.size),
            "episode_start_ts": chain.start_ts, "episode_ms": ms(ev.ts - chain.start_ts),
            "displayed_from": "orders", "executions_from": "fills",
            "passive_actors": {actor: r6(chain.executed)},
            **chain_evidence(chain),
        }
        msg = (f"{actor}'s hidden {'bid' if side == BUY else 'offer'} at {price:g}: "
               f"{chain.executed:g} executed in {chain.executions} trades against a displayed "
               f"{chain.size:g} ({chain.executed / chain.size:.1f}x), refilled {chain.refills} "
               f"times (order by order)")
        return [make_finding(self.name, self.category, ev, actor_id=actor, verdict=verdict,
                             message=msg, citation=self.citation, evidence=evidence)]

    def _end_chain(self, chain: Chain, market_id: str) -> None:
        """A chain is over: its closest miss, if it never fired, is a near-miss."""
        if chain.best is not None and not chain.fired:
            self._near.offer(self._verdict(chain.best), ts=chain.last_ts, market_id=market_id,
                             actor_id=chain.actor,
                             detail={"side": chain.side, "price": chain.price,
                                     "executed": r6(chain.executed), "tip": r6(chain.size),
                                     "refills": chain.refills, "from": "orders"},
                             candidate=[market_id, "orders", chain.actor, chain.side,
                                        chain.price, chain.start_ts])
            chain.best = None

    def _judged(self, episode: _Level | Chain, values: _Values) -> Verdict | None:
        """The verdict when every threshold passes (``episode`` is then fired); else
        None, keeping the closest miss on ``episode`` for its near-miss report."""
        closeness = self._closeness(values)
        if closeness <= 1.0:  # not passed
            if episode.best is None or closeness > episode.best_closeness:
                episode.best = values
                episode.best_closeness = closeness
            return None
        episode.fired = True
        episode.best = None
        return self._verdict(values)

    def _closeness(self, values: _Values) -> float:
        """The lowest closeness of a failed threshold (as Threshold.closeness, in
        evaluate's order); above 1 when none failed. Plain arithmetic: most
        executions do not pass, and the Threshold objects are built only for a
        finding or a reported miss."""
        closeness = 2.0
        for value, required in zip(values, self._required, strict=False):  # 5 or 6
            if not value >= required:
                c = min(1.0, margin(value, required))
                if c < closeness:
                    closeness = c
        return closeness

    def _verdict(self, values: _Values) -> Verdict:
        executions, refills, ratio, executed, refill_ratio = values[:5]
        cfg = self.cfg
        thresholds = [
            Threshold("min_executions", executions, float(cfg.min_executions)),
            Threshold("min_refills", refills, float(cfg.min_refills)),
            Threshold("min_exec_to_display_ratio", ratio, cfg.min_exec_to_display_ratio),
            Threshold("min_executed_volume", executed, cfg.min_executed_volume,
                      calibrates=False),
            Threshold("min_refill_ratio", refill_ratio, cfg.min_refill_ratio, calibrates=False),
        ]
        if len(values) > 5:
            # passive fills name enough of the volume (else: book and tape only)
            thresholds.append(Threshold("min_passive_actor_share", values[5],
                                        cfg.min_passive_actor_share, calibrates=False))
        return evaluate(thresholds)

    def _end(self, lv: _Level, market_id: str) -> None:
        if lv.best is not None and not lv.fired:
            self._near.offer(self._verdict(lv.best), ts=lv.last_ts, market_id=market_id,
                             actor_id=sorted(lv.makers)[0] if len(lv.makers) == 1 else None,
                             detail={"side": lv.side, "price": lv.price,
                                     "executed": r6(lv.executed), "tip": r6(lv.tip),
                                     "refills": lv.refills},
                             candidate=[market_id, lv.side, lv.price, lv.start_ts])
            lv.best = None

    # ------------------------------------------------------------------ state

    def finish(self, ctx: Any = None) -> list[AnomalyFinding]:
        for market_id, mk in sorted(self._markets.items()):
            for lv in mk.sorted_levels():
                self._end(lv, market_id)
            for chain in mk.tranches.open_chains():
                self._end_chain(chain, market_id)
        return []

    def evict_idle(self, before_ts: int) -> None:
        for m in [m for m, mk in self._markets.items() if mk.last_ts < before_ts]:
            mk = self._markets.pop(m)
            for lv in mk.sorted_levels():
                self._end(lv, m)
            for chain in mk.tranches.open_chains():
                self._end_chain(chain, m)
        for m, mk in self._markets.items():
            for chain in mk.tranches.evict(before_ts):
                self._end_chain(chain, m)
            idle = [(lv.seq, BUY, p) for p, lv in mk.bid_levels.items() if lv.last_ts < before_ts]
            idle += [(lv.seq, SELL, p) for p, lv in mk.ask_levels.items()
                     if lv.last_ts < before_ts]
            idle.sort()  # in the order the episodes' levels were first inserted
            for _, side, price in idle:
                self._end(mk.episodes(side).pop(price), m)
