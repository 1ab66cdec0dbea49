"""Wash trading: trading with oneself, or within a closed group of wallets
that trade back and forth and end where they started.

Two patterns:

* **Self-trade**: both sides of one execution belong to the same actor
  (``actor_id == counterparty_id``, or the two participants' fills of one
  execution carry the same actor).
* **Closed cluster** (Victor and Weintraud 2021; the closed-cluster idea of
  Sirolly, Ma, Kanoria and Sethi on Polymarket): a pair or small group of
  wallets whose trading in a market over ``window_s`` is mostly with each
  other (each member's volume inside the group is at least
  ``min_internal_share`` of its total), substantial (``min_cluster_volume``,
  ``min_trades``), and leaves every member's position where it started
  (``|net| <= max_net_ratio`` of its volume inside the group).

Where the venue publishes order placements, wash trades show as
*prearranged crosses*: the passive order is taken by the other member within
``prearranged_ms`` of being placed. Market makers that end up trading a lot
with each other hit quotes that have rested for seconds; so where order ages
are known, at least ``min_prearranged_share`` of the cluster's executions
must be such crosses.

A cluster that passes is not reported at once: it is judged again
``confirm_after_s`` later (or when the feed ends), with the members' totals
as they are then. A market maker whose first counterparty of the day looks
like a closed pair has by then traded with many others, and drops out; a
real wash group is still closed.

Every execution is counted once. The schema gives one ``order.filled`` per
participant plus, where published, a ``trade.tape`` print; all of them map to
the same key ``(ts, price, size, buyer, seller)`` and duplicates within
``dedupe_window_ms`` are dropped. Fills without ``counterparty_id`` are
paired with the opposite fill of the same execution (same ts, price, size and
``tx_hash``). A big trader with many counterparties never forms a closed
cluster: its volume with any small group is a small share of its total.

Per event the cost is O(1) amortized: rolling per-pair and per-actor sums
with a deque of executions for expiry; the cluster search looks only at
counterparties of members with at most ``max_counterparties`` of them.
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
    at_least,
    evaluate,
    fraction,
    make_finding,
    ms,
    ms_to_ns,
    non_negative,
    positive,
    r6,
    s_to_ns,
)
from .base import DetectorBase

CITATION = (
    "Commodity Exchange Act §4c(a)(2)(A)(i) (wash sales); Victor and Weintraud, 'Detecting and "
    "Quantifying Wash Trading on Decentralized Cryptocurrency Exchanges', WWW 2021; Sirolly, "
    "Ma, Kanoria and Sethi, network-based detection of wash trading (closed clusters, "
    "Polymarket)"
)


def _cluster_size(instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if not 2 <= value <= 8:
        raise ValueError(f"{attribute.name} must be in [2, 8], got {value!r}")


@attrs.frozen
class WashTradeConfig:
    """``[detectors.wash_trade]``."""

    #: Report executions where one actor is on both sides.
    self_trade: bool = True
    #: Self-trades by one actor in one market within this window make one finding.
    self_trade_cooldown_ms: float = attrs.field(default=60_000.0, validator=positive)
    #: Self-trades needed in the cooldown window before reporting.
    min_self_trades: int = attrs.field(default=1, validator=at_least(1))
    #: Window over which cluster volumes and net positions are summed (windows.long_s).
    window_s: float = attrs.field(default=3600.0, validator=positive)
    #: Smallest volume traded inside a cluster within the window.
    min_cluster_volume: float = attrs.field(default=1000.0, validator=positive)
    #: Fewest executions inside the cluster.
    min_trades: int = attrs.field(default=4, validator=at_least(2))
    #: Largest |net position change| of any member over its volume inside the
    #: cluster, or over all its volume in the window where that is flatter (a
    #: ring that took outside fills and rebalanced among itself ends flat).
    max_net_ratio: float = attrs.field(default=0.05, validator=fraction)
    #: Smallest share of each member's volume that is with other members.
    min_internal_share: float = attrs.field(default=0.9, validator=fraction)
    #: A passive order taken this soon after its placement is a prearranged cross.
    prearranged_ms: float = attrs.field(default=500.0, validator=positive)
    #: Where order ages are known: smallest share of the cluster's executions
    #: that are prearranged crosses.
    min_prearranged_share: float = attrs.field(default=0.5, validator=fraction)
    #: Where order ages are known and at least this share of the cluster's
    #: executions are prearranged crosses (nearly all of them: no market maker
    #: trades like that)...
    strong_prearranged_share: float = attrs.field(default=0.8, validator=fraction)
    #: ...each member's volume inside the group need only be this share of its
    #: total: wash traders also trade with others, to look ordinary.
    prearranged_internal_share: float = attrs.field(default=0.5, validator=fraction)
    #: Delay between a cluster first passing and its confirmation (and finding).
    confirm_after_s: float = attrs.field(default=300.0, validator=non_negative)
    #: Smallest part of the group's volume so far a wallet must have traded with
    #: its members to join it: a retail wallet that traded once with one member
    #: trades only "inside" the group, and would otherwise join and break it.
    min_member_share: float = attrs.field(default=0.1, validator=fraction)
    #: Largest group of wallets considered.
    max_cluster_size: int = attrs.field(default=4, validator=_cluster_size)
    #: Members with more distinct counterparties are not expanded from.
    max_counterparties: int = attrs.field(default=8, validator=at_least(1))
    #: How long an execution key is remembered to drop its duplicates.
    dedupe_window_ms: float = attrs.field(default=5000.0, validator=positive)
    #: Memory bound on executions kept per detector.
    max_executions: int = attrs.field(default=200_000, validator=at_least(100))
    near_miss_capacity: int = attrs.field(default=20, validator=non_negative)


ExecKey = tuple[int, float, float, str, str]


@attrs.define(slots=True)
class _Pair:
    gross: float = 0.0
    net_lo: float = 0.0  # bought minus sold by the lexically smaller member
    trades: int = 0
    aged: int = 0  # executions whose passive order's age is known
    quick: int = 0  # ... of which prearranged crosses
    last_ts: int = 0


@attrs.define(slots=True)
class _Actor:
    total: float = 0.0
    net: float = 0.0  # bought minus sold in the window, with anyone
    cps: dict[str, int] = attrs.field(factory=dict)  # counterparty -> executions in window


@attrs.define(slots=True)
class _SelfTrades:
    times: deque[int] = attrs.field(factory=deque)
    sizes: deque[float] = attrs.field(factory=deque)
    fired_ts: int = -1


class WashTradeDetector(DetectorBase):
    name = "wash_trade"
    category = "wash_trade"
    citation = CITATION
    kinds = frozenset({"order.filled", "trade.tape", "order.placed"})

    def __init__(self, config: WashTradeConfig | None = None) -> None:
        cfg = config or WashTradeConfig()
        super().__init__(cfg)
        self.cfg = cfg
        self.window_ns = s_to_ns(cfg.window_s)
        self.dedupe_ns = ms_to_ns(cfg.dedupe_window_ms)
        self.cooldown_ns = ms_to_ns(cfg.self_trade_cooldown_ms)
        # execution key -> its record [ts, market, buyer, seller, size, price, tx,
        # passive order age known (0/1), prearranged cross (0/1)]
        self._seen: dict[ExecKey, list[Any]] = {}
        self._seen_q: deque[tuple[int, ExecKey]] = deque()
        self._halves: dict[tuple[str, int, float, float, str], tuple[str, str]] = {}
        self._halves_q: deque[tuple[int, tuple[str, int, float, float, str]]] = deque()
        self._execs: deque[list[Any]] = deque()
        self.prearranged_ns = ms_to_ns(cfg.prearranged_ms)
        self._placed: dict[tuple[str, str], int] = {}  # (market, order id) -> placed ts
        self._placed_q: deque[tuple[int, tuple[str, str]]] = deque()
        # At most the earliest ts at which an expiry queue's head is due (its
        # expiry, or an execution's ts + window_s): an event with ts <= _due
        # expires nothing, so the common event costs one comparison. Lowered
        # on every append and whenever the executions' head changes outside
        # the expiry, recomputed after each expiry.
        self._due: int = NEVER
        self._order_markets: dict[str, int] = {}  # markets with order events -> last ts
        self._pairs: dict[tuple[str, str, str], _Pair] = {}
        self._actors: dict[tuple[str, str], _Actor] = {}
        self._self: dict[tuple[str, str], _SelfTrades] = {}
        self._fired: dict[str, list[tuple[int, frozenset[str]]]] = {}
        self._recent: dict[tuple[str, str, str], deque[dict[str, Any]]] = {}
        self.confirm_ns = s_to_ns(cfg.confirm_after_s)
        self._last_ts = 0
        self._pending: dict[tuple[str, tuple[str, ...]], tuple[int, MarketEvent]] = {}
        self._pending_q: deque[tuple[int, tuple[str, tuple[str, ...]]]] = deque()

    # ------------------------------------------------------------------ events

    def on_event(self, ev: MarketEvent, ctx: Any) -> list[AnomalyFinding] | None:
        # Every order placement comes through here (most of this detector's
        # events): _expire and the placement bookkeeping are inlined, and each
        # expiry queue costs one comparison when nothing is due.
        ts = ev.ts
        if ts > self._last_ts:
            self._last_ts = ts
        if ts > self._due:
            self._expire(ts)
        confirmed = self._confirm_due(ts) if self._pending_q else None
        if ev.kind == "order.placed":
            oid = ev.order_id
            if oid is not None:
                market = ev.market_id
                okey = (market, oid)
                self._placed[okey] = ts
                due = ts + self.prearranged_ns
                self._placed_q.append((due, okey))
                if due < self._due:
                    self._due = due
                self._order_markets[market] = ts
            return confirmed if confirmed else None
        found = self._on_execution(ev)
        if confirmed:
            return confirmed + (found or [])
        return found

    def _on_execution(self, ev: MarketEvent) -> list[AnomalyFinding] | None:
        """An ``order.filled`` or ``trade.tape`` (placements are handled in on_event)."""
        size, price = ev.size, ev.price
        if ev.actor_id is None or ev.side not in (BUY, SELL) or not size or price is None:
            return None
        actor, cp = ev.actor_id, ev.counterparty_id
        if cp is None:
            if ev.kind != "order.filled":
                return None
            pair = self._pair_half(ev, actor, size, price)
            if pair is None:
                return None
            buyer, seller = pair
        elif ev.side == BUY:
            buyer, seller = actor, cp
        else:
            buyer, seller = cp, actor
        key: ExecKey = (ev.ts, price, size, buyer, seller)
        record = self._seen.get(key)
        if record is not None:
            # the other participant's fill, or the tape print, of a counted execution
            self._age(record, ev)
            return None
        record = [ev.ts, ev.market_id, buyer, seller, size, price, ev.tx_hash, 0, 0]
        self._seen[key] = record
        due = ev.ts + self.dedupe_ns
        self._seen_q.append((due, key))
        self._due_by(due)
        if buyer == seller:
            return self._self_trade(ev, buyer, size, price)
        return self._execution(ev, record)

    def _age(self, record: list[Any], ev: MarketEvent) -> None:
        """Note how long the passive order of this execution had rested, if known."""
        if (record[7] or ev.kind != "order.filled" or ev.aggressor is not False
                or ev.order_id is None or ev.market_id not in self._order_markets
                or record[2] == record[3]):
            return
        placed = self._placed.get((ev.market_id, ev.order_id))
        quick = 1 if placed is not None and ev.ts - placed <= self.prearranged_ns else 0
        record[7], record[8] = 1, quick
        lo, hi = sorted((record[2], record[3]))
        p = self._pairs.get((record[1], lo, hi))
        if p is not None:
            p.aged += 1
            p.quick += quick

    def _pair_half(self, ev: MarketEvent, actor: str, size: float, price: float
                   ) -> tuple[str, str] | None:
        """Match a fill without counterparty to the other side of the same execution."""
        hkey = (ev.market_id, ev.ts, price, size, ev.tx_hash or "")
        other = self._halves.get(hkey)
        if other is None or other[0] == ev.side:
            self._halves[hkey] = (ev.side or "", actor)
            due = ev.ts + self.dedupe_ns
            self._halves_q.append((due, hkey))
            self._due_by(due)
            return None
        del self._halves[hkey]
        return (actor, other[1]) if ev.side == BUY else (other[1], actor)

    # ------------------------------------------------------------------ self-trades

    def _self_trade(self, ev: MarketEvent, actor: str, size: float, price: float
                    ) -> list[AnomalyFinding] | None:
        cfg = self.cfg
        if not cfg.self_trade:
            return None
        st = self._self.get((actor, ev.market_id))
        if st is None:
            st = self._self[(actor, ev.market_id)] = _SelfTrades()
        st.times.append(ev.ts)
        st.sizes.append(size)
        while st.times and st.times[0] < ev.ts - self.cooldown_ns:
            st.times.popleft()
            st.sizes.popleft()
        if st.fired_ts >= 0 and ev.ts - st.fired_ts < self.cooldown_ns:
            return None
        verdict = evaluate([Threshold("min_self_trades", float(len(st.times)),
                                      float(cfg.min_self_trades))])
        if not verdict.passed:
            self._near.offer(verdict, ts=ev.ts, market_id=ev.market_id, actor_id=actor,
                             detail={"self_trades": len(st.times)}, candidate=[actor])
            return None
        st.fired_ts = ev.ts
        evidence = {
            "pattern": "self_trade", "members": [actor],
            "self_trades_in_window": len(st.times), "self_traded_volume": r6(sum(st.sizes)),
            "window_ms": cfg.self_trade_cooldown_ms, "last_price": r6(price),
            "last_size": r6(size), "tx_hash": ev.tx_hash, "order_id": ev.order_id,
        }
        msg = (f"{actor} traded with itself: {len(st.times)} self-match(es), "
               f"{sum(st.sizes):g} in the last {cfg.self_trade_cooldown_ms / 1000:g} s "
               f"(last {size:g} at {price:g})")
        return [make_finding(self.name, self.category, ev, actor_id=actor, verdict=verdict,
                             message=msg, citation=self.citation, evidence=evidence,
                             severity_floor="medium")]

    # ------------------------------------------------------------------ clusters

    def _execution(self, ev: MarketEvent, record: list[Any]) -> list[AnomalyFinding] | None:
        m = ev.market_id
        buyer, seller, size, price = record[2], record[3], record[4], record[5]
        self._add(record, +1)
        self._age(record, ev)
        lo, hi = (buyer, seller) if buyer < seller else (seller, buyer)
        rec = self._recent.get((m, lo, hi))
        if rec is None:
            rec = self._recent[(m, lo, hi)] = deque(maxlen=10)
        rec.append({"ts": ev.ts, "buyer": buyer, "seller": seller, "size": r6(size),
                    "price": r6(price), "tx_hash": ev.tx_hash})
        if len(self._execs) > self.cfg.max_executions:
            self._drop_oldest()
        # A cluster of k wallets has k(k-1)/2 pairs: a pair carrying less than
        # that share of the minimum volume cannot complete one; skip the search.
        k = self.cfg.max_cluster_size
        if self._gross(m, lo, hi) < self.cfg.min_cluster_volume * 2 / (k * (k - 1)):
            return None
        members = self._cluster(m, buyer, seller)
        verdict, facts = self._judge(m, members)
        if not verdict.passed:
            if facts["cluster_volume"] >= 0.25 * self.cfg.min_cluster_volume:
                self._near.offer(verdict, ts=ev.ts, market_id=m, actor_id=members[0],
                                 detail={"members": members, "volume": facts["cluster_volume"],
                                         "trades": facts["trades"]}, candidate=members)
            return None
        pkey = (m, tuple(members))
        if pkey in self._pending or self._overlaps_fired(m, members, ev.ts):
            return None
        self._pending[pkey] = (ev.ts, ev)
        self._pending_q.append((ev.ts + self.confirm_ns, pkey))
        return None

    def _overlaps_fired(self, m: str, members: list[str], now: int) -> bool:
        fired = self._fired.get(m)
        if not fired:
            return False
        fired[:] = [(ts, g) for ts, g in fired if now - ts < self.window_ns]
        group = set(members)
        return any(len(g & group) >= 2 for _, g in fired)

    def _confirm_due(self, now: int, *, all_pending: bool = False) -> list[AnomalyFinding]:
        out: list[AnomalyFinding] = []
        q = self._pending_q
        while q and (all_pending or q[0][0] <= now):
            _, pkey = q.popleft()
            pending = self._pending.pop(pkey, None)
            if pending is None:
                continue
            first_ts, ev = pending
            f = self._confirm(pkey[0], list(pkey[1]), first_ts, ev, now)
            if f is not None:
                out.append(f)
        return out

    def _confirm(self, m: str, members: list[str], first_ts: int, ev: MarketEvent, now: int
                 ) -> AnomalyFinding | None:
        if any((m, x) not in self._actors for x in members):
            return None  # its executions expired from the window meanwhile
        verdict, facts = self._judge(m, members)
        if not verdict.passed:
            self._near.offer(verdict, ts=now, market_id=m, actor_id=members[0],
                             detail={"members": members, "volume": facts["cluster_volume"],
                                     "trades": facts["trades"], "stage": "confirmation"},
                             candidate=members)
            return None
        if self._overlaps_fired(m, members, now):
            return None
        self._fired.setdefault(m, []).append((now, frozenset(members)))
        per = facts.pop("_per")
        lead = max(members, key=lambda x: (per[x]["bought"] + per[x]["sold"], x))
        recent: list[dict[str, Any]] = []
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                recent.extend(self._recent.get((m, a, b), ()))
        recent.sort(key=lambda r: (r["ts"], r["buyer"], r["seller"]))
        evidence = {
            "pattern": "closed_cluster", "members": members, **facts,
            "window_s": self.cfg.window_s, "first_passed_ts": first_ts, "confirmed_ts": now,
            "recent_executions": recent[-20:],
        }
        volume, trades = facts["cluster_volume"], facts["trades"]
        share, net_ratio = facts["min_internal_share"], facts["max_net_ratio"]
        msg = (f"{len(members)} wallets ({', '.join(members)}) traded {volume:g} in {trades} "
               f"executions mostly among themselves (>= {share:.0%} of each one's volume) and "
               f"ended within {net_ratio:.1%} of where they started")
        f = make_finding(self.name, self.category, ev, actor_id=lead, verdict=verdict,
                         message=msg, citation=self.citation, evidence=evidence)
        return attrs.evolve(f, ts=max(now, ev.ts))

    def _cluster(self, m: str, a: str, b: str) -> list[str]:
        cfg = self.cfg
        members = sorted((a, b))
        volume = self._gross(m, a, b)  # traded among the members so far
        while len(members) < cfg.max_cluster_size:
            candidates: set[str] = set()
            for x in members:
                st = self._actors.get((m, x))
                if st is not None and len(st.cps) <= cfg.max_counterparties:
                    candidates.update(st.cps)
            candidates.difference_update(members)
            best: tuple[float, str] | None = None
            for c in sorted(candidates):
                st = self._actors.get((m, c))
                if st is None or st.total <= 0 or len(st.cps) > cfg.max_counterparties:
                    continue
                inside = sum(self._gross(m, c, x) for x in members)
                if (inside >= cfg.min_internal_share * st.total
                        and inside >= cfg.min_member_share * volume
                        and (best is None or inside > best[0])):
                    best = (inside, c)
            if best is None:
                break
            members = sorted([*members, best[1]])
            volume += best[0]
        return members

    def _gross(self, m: str, a: str, b: str) -> float:
        p = self._pairs.get((m, a, b) if a < b else (m, b, a))
        return p.gross if p is not None else 0.0

    def _judge(self, m: str, members: list[str]) -> tuple[Any, dict[str, Any]]:
        """The cluster's verdict and the numbers behind it."""
        cfg = self.cfg
        volume = 0.0
        trades = 0
        aged = quick = 0
        per: dict[str, dict[str, float]] = {x: {"bought": 0.0, "sold": 0.0} for x in members}
        pairs = []
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                p = self._pairs.get((m, a, b))
                if p is None:
                    continue
                volume += p.gross
                trades += p.trades
                aged += p.aged
                quick += p.quick
                a_bought = (p.gross + p.net_lo) / 2
                per[a]["bought"] += a_bought
                per[a]["sold"] += p.gross - a_bought
                per[b]["bought"] += p.gross - a_bought
                per[b]["sold"] += a_bought
                pairs.append({"a": a, "b": b, "volume": r6(p.gross), "trades": p.trades})
        net_ratio = 0.0
        share = 1.0
        positions = {}
        for x in members:
            inside = per[x]["bought"] + per[x]["sold"]
            st = self._actors.get((m, x))
            total = st.total if st is not None else 0.0
            if inside > 0:
                x_net = abs(per[x]["bought"] - per[x]["sold"]) / inside
                if total > 0 and st is not None:
                    x_net = min(x_net, abs(st.net) / total)
                net_ratio = max(net_ratio, x_net)
            x_share = inside / total if total > 0 else 0.0
            share = min(share, x_share)
            positions[x] = {"bought": r6(per[x]["bought"]), "sold": r6(per[x]["sold"]),
                            "net": r6(per[x]["bought"] - per[x]["sold"]),
                            "total_volume": r6(total), "internal_share": r6(x_share)}
        # only where the venue shows how long the passive orders rested
        ages_known = aged > 0 and aged * 2 >= trades
        crossed = quick / aged if ages_known else 0.0
        # executions nearly all prearranged: members may trade with others more
        # (the stricter floor still applies, and calibrates, where it is met)
        min_share = (min(cfg.prearranged_internal_share, cfg.min_internal_share)
                     if share < cfg.min_internal_share and ages_known
                     and crossed >= cfg.strong_prearranged_share
                     else cfg.min_internal_share)
        verdict = evaluate([
            Threshold("min_cluster_volume", volume, cfg.min_cluster_volume),
            Threshold("min_trades", float(trades), float(cfg.min_trades)),
            Threshold("max_net_ratio", net_ratio, cfg.max_net_ratio, at_most=True,
                      calibrates=False),
            Threshold("min_internal_share", share, min_share),
            *([Threshold("min_prearranged_share", crossed, cfg.min_prearranged_share,
                         calibrates=False)] if ages_known else []),
        ])
        facts = {"positions": positions, "pairs": pairs, "cluster_volume": r6(volume),
                 "trades": trades, "max_net_ratio": r6(net_ratio),
                 "min_internal_share": r6(share), "executions_with_known_order_age": aged,
                 "prearranged_crosses": quick, "_per": per}
        return verdict, facts

    # ------------------------------------------------------------------ rolling sums

    def _add(self, record: list[Any], sign: int) -> None:
        ts, m, buyer, seller, size = record[0], record[1], record[2], record[3], record[4]
        if sign > 0:
            self._execs.append(record)
            self._due_by(ts + self.window_ns)
        lo, hi = (buyer, seller) if buyer < seller else (seller, buyer)
        pkey = (m, lo, hi)
        p = self._pairs.get(pkey)
        if p is None:
            p = self._pairs[pkey] = _Pair()
        p.gross += sign * size
        p.net_lo += sign * (size if lo == buyer else -size)
        p.trades += sign
        if sign < 0:
            p.aged -= record[7]
            p.quick -= record[8]
        if sign > 0:
            p.last_ts = ts
        if p.trades <= 0:
            del self._pairs[pkey]
            self._recent.pop(pkey, None)
        for x, y in ((buyer, seller), (seller, buyer)):
            akey = (m, x)
            st = self._actors.get(akey)
            if st is None:
                st = self._actors[akey] = _Actor()
            st.total += sign * size
            st.net += sign * (size if x == buyer else -size)
            n = st.cps.get(y, 0) + sign
            if n > 0:
                st.cps[y] = n
            else:
                st.cps.pop(y, None)
            if not st.cps:
                del self._actors[akey]

    def _drop_oldest(self) -> None:
        self._add(self._execs.popleft(), -1)
        if self._execs:  # a new head
            self._due_by(self._execs[0][0] + self.window_ns)

    def _due_by(self, due: int) -> None:
        """Something in an expiry queue falls due at ``due``: lower ``_due`` to it.
        (The placement path in on_event does the same inline.)"""
        if due < self._due:
            self._due = due

    def _expire(self, now: int) -> None:
        q = self._seen_q
        while q and q[0][0] < now:
            self._seen.pop(q.popleft()[1], None)
        pq = self._placed_q
        while pq and pq[0][0] < now:
            _, pkey = pq.popleft()
            self._placed.pop(pkey, None)
        hq = self._halves_q
        while hq and hq[0][0] < now:
            _, hkey = hq.popleft()
            self._halves.pop(hkey, None)
        cutoff = now - self.window_ns
        while self._execs and self._execs[0][0] < cutoff:
            self._drop_oldest()
        # every head is now past ``now``: the next event that can expire anything
        due = NEVER
        if q:
            due = q[0][0]
        if pq and pq[0][0] < due:
            due = pq[0][0]
        if hq and hq[0][0] < due:
            due = hq[0][0]
        if self._execs and self._execs[0][0] + self.window_ns < due:
            due = self._execs[0][0] + self.window_ns
        self._due = due

    def finish(self, ctx: Any = None) -> list[AnomalyFinding]:
        """Confirm clusters still pending when the feed ends, on what is known now."""
        if not self._pending_q:
            return []
        now = max(ev.ts for _, ev in self._pending.values()) if self._pending else 0
        now = max(now, self._last_ts)
        return self._confirm_due(now, all_pending=True)

    def evict_idle(self, before_ts: int) -> None:
        # Executions expire on their own (window_s); this drops self-trade and
        # firing memory of quiet actors and markets.
        for key in [k for k, st in self._self.items() if not st.times
                    or st.times[-1] < before_ts]:
            del self._self[key]
        for m in [m for m, f in self._fired.items() if not f or max(ts for ts, _ in f)
                  < before_ts]:
            del self._fired[m]
        while self._execs and self._execs[0][0] < before_ts:
            self._drop_oldest()
        for m in [m for m, ts in self._order_markets.items() if ts < before_ts]:
            del self._order_markets[m]

    def stats(self) -> dict[str, int]:
        return {"executions": len(self._execs), "pairs": len(self._pairs),
                "actors": len(self._actors), "dedupe_keys": len(self._seen),
                "window_ms": int(ms(self.window_ns))}
