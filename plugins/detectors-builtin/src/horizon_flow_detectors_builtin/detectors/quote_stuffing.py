"""Quote stuffing: bursts of order messages far above the sender's own normal
rate, with almost nothing executed.

Egginton, Van Ness and Van Ness, "Quote Stuffing" (Financial Management,
2016): episodes of intense quoting, measured against each security's own
baseline, that degrade the market for others. Here the unit is an actor
(placements, cancels and amends it sends) on identified venues, and a market
(book updates, quote updates and unattributed order events) on anonymous
ones.

Each key's rate is the count of messages in a sliding window of
``window_ms``; its baseline an exponentially weighted moving average of the
per-window counts of earlier windows (bias-corrected, and decayed through
idle windows in O(1)). A burst fires when the window holds at least
``min_messages``, ``burst_multiple`` times the baseline, with executions at
most ``max_fill_ratio`` of the messages, from a key observed for at least
``min_history_ms`` (so a baseline exists). One finding per burst: the key
must fall back below half of ``min_messages`` before it can fire again.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import attrs

from horizon_flow_core.events import MarketEvent
from horizon_flow_core.findings import AnomalyFinding

from ..common import (
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
from .base import DetectorBase

CITATION = (
    "Egginton, Van Ness and Van Ness, 'Quote Stuffing', Financial Management 45(3), 2016; "
    "Commission Delegated Regulation (EU) 2016/522 Annex II §3 (disruption or delay of the "
    "trading system by submitting large numbers of orders)"
)

_PLACE, _CANCEL, _AMEND, _BOOK = 0, 1, 2, 3
_FILL, _TAPE = -1, -2  # executions: they feed the fill counts, not the message windows
_ACTOR_MESSAGE_KINDS = {"order.placed": _PLACE, "order.canceled": _CANCEL,
                        "order.amended": _AMEND}
_MARKET_MESSAGE_KINDS = {"book.delta": _BOOK, "quote.update": _BOOK}
#: Every kind the detector handles, one lookup per event.
_CODES = {**_ACTOR_MESSAGE_KINDS, **_MARKET_MESSAGE_KINDS,
          "order.filled": _FILL, "trade.tape": _TAPE}


def _int_bound(h: float) -> float:
    """The smallest int count that is >= ``h`` (``h`` itself when infinite)."""
    return math.ceil(h) if math.isfinite(h) else h


def _alpha(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{attribute.name} must be in (0, 1], got {value!r}")


@attrs.frozen
class QuoteStuffingConfig:
    """``[detectors.quote_stuffing]``."""

    #: Sliding window over which the message rate is counted.
    window_ms: float = attrs.field(default=1000.0, validator=positive)
    #: Fewest messages in one window from one actor for a burst.
    min_messages: int = attrs.field(default=50, validator=at_least(1))
    #: Burst rate over the key's own baseline rate.
    burst_multiple: float = attrs.field(default=10.0, validator=at_least(1.0))
    #: EWMA weight of each completed window in the baseline.
    baseline_alpha: float = attrs.field(default=0.05, validator=_alpha)
    #: Smallest baseline (messages per window) a burst is compared with.
    baseline_floor: float = attrs.field(default=2.0, validator=positive)
    #: A key must have been seen this long before a burst of it counts.
    min_history_ms: float = attrs.field(default=30_000.0, validator=non_negative)
    #: Most executions per message in the burst window ("almost no executions").
    max_fill_ratio: float = attrs.field(default=0.05, validator=fraction)
    #: Also watch whole markets (book and quote updates), for anonymous venues.
    market_level: bool = True
    #: Fewest book/quote messages in one window in one market for a market burst
    #: (against the market's own baseline as well, ``burst_multiple``).
    market_min_messages: int = attrs.field(default=150, validator=at_least(1))
    near_miss_capacity: int = attrs.field(default=20, validator=non_negative)


def _trim(r: _Rate, cutoff: int) -> None:
    """Drop the key's messages and executions up to ``cutoff`` from their heads.

    Every message event's cutoff (its ts - window) used to be applied at once.
    Applied later, the largest of them pops the same entries as long as time
    does not go back, since an entry appended in between is newer than every
    cutoff put off, so none of them could have popped it. Where a message's time
    goes back, the trims put off are done first (_catch_up). Executions are
    appended by _fill, which first does the message trims put off, so none is
    ever put off across an execution's arrival.
    """
    window = r.window
    while window and window[0][0] <= cutoff:
        window.popleft()
    fills = r.fills
    while fills and fills[0] <= cutoff:
        fills.popleft()


@attrs.define(slots=True)
class _Rate:
    first_ts: int
    # (ts, message code); the per-code counts are evidence only, so they are
    # counted from the window when a burst fires, not kept per event
    window: deque[tuple[int, int]] = attrs.field(factory=deque)
    # made on the key's first execution: most keys never have one (memory per key)
    fills: deque[int] | None = None
    bucket: int = -1
    # first ts past ``bucket``: (bucket + 1) * window, so the hot path compares
    # instead of dividing; -inf while there is no bucket (every event rolls)
    next_roll: float = -math.inf
    bucket_count: int = 0
    ewma: float = 0.0
    buckets_seen: int = 0
    in_burst: bool = False
    burst_start: int = 0
    best: tuple[Verdict, int, dict[str, Any]] | None = None  # closest miss of this episode
    last_ts: int = 0  # of the last message
    # (bucket, bucket_count) when the executions last had every trim done: it
    # changes with every message, so a different one means trims are put off
    fills_synced: tuple[int, int] = (0, 0)


class QuoteStuffingDetector(DetectorBase):
    name = "quote_stuffing"
    category = "quote_stuffing"
    citation = CITATION

    def __init__(self, config: QuoteStuffingConfig | None = None) -> None:
        cfg = config or QuoteStuffingConfig()
        super().__init__(cfg)
        self.cfg = cfg
        self.window_ns = ms_to_ns(cfg.window_ms)
        self.history_ns = ms_to_ns(cfg.min_history_ms)
        self._decay = 1.0 - cfg.baseline_alpha
        self._min_messages = cfg.min_messages
        self._market_min_messages = cfg.market_min_messages
        self._market_level = cfg.market_level
        # A key is elevated (judged) from half of its min_messages on. Window
        # counts are ints: n < h exactly when n < ceil(h), and an int bound keeps
        # the per-event comparisons int against int (the specialized path).
        self._half_min_messages = _int_bound(cfg.min_messages / 2)
        self._half_market_min_messages = _int_bound(cfg.market_min_messages / 2)
        kinds = {"order.placed", "order.canceled", "order.amended", "order.filled"}
        if cfg.market_level:
            kinds |= {"book.delta", "quote.update", "trade.tape"}
        self.kinds = frozenset(kinds)
        self._actors: dict[tuple[str, str], _Rate] = {}
        self._markets: dict[str, _Rate] = {}
        self._actor_fired: dict[str, int] = {}  # market -> ts of last actor-level finding

    # ------------------------------------------------------------------ events

    def on_event(self, ev: MarketEvent, ctx: Any) -> list[AnomalyFinding] | None:
        # Runs for most events of a feed: the common path (a quiet key) is one
        # function on local variables; judging a candidate (_judge) and closing
        # a window into the baseline (_roll) are calls only when they happen.
        code = _CODES.get(ev.kind)
        if code is None:
            return None
        actor = ev.actor_id
        if code < 0:  # an execution
            if code == _FILL:
                if actor is not None:
                    r = self._actors.get((actor, ev.market_id))
                    if r is not None:
                        self._fill(r, ev.ts)
            else:
                r = self._markets.get(ev.market_id)
                if r is not None:
                    self._fill(r, ev.ts)
            return None
        ts = ev.ts
        if code != _BOOK and actor is not None:
            key = (actor, ev.market_id)
            r = self._actors.get(key)
            if r is None:
                r = self._actors[key] = _Rate(ts)
            half = self._half_min_messages
        else:
            # book and quote updates, and order events that name no actor
            if not self._market_level:
                return None
            actor = None
            r = self._markets.get(ev.market_id)
            if r is None:
                r = self._markets[ev.market_id] = _Rate(ts)
            half = self._half_market_min_messages
        # The window is trimmed to the last window_ns exactly only once it holds
        # at least half of min_messages (its count can matter), and otherwise when
        # the key rolls into a new bucket (memory): below half, the count is below
        # half whatever the stale head. See _trim for why later trims pop the same.
        if ts < r.last_ts:  # time went back: first the trims put off so far
            self._catch_up(r)
        r.last_ts = ts
        if ts >= r.next_roll:  # ts // window_ns > r.bucket, or no bucket yet
            self._roll(r, ts)
            _trim(r, ts - self.window_ns)
        r.bucket_count += 1
        window = r.window
        window.append((ts, code))
        n = len(window)
        if n >= half:  # the count can matter: make it exact
            _trim(r, ts - self.window_ns)
            n = len(window)
        if r.in_burst:
            if n < half:
                r.in_burst = False
            return None
        if n < half:
            if r.best is not None:  # an elevated stretch ended without firing
                verdict, at, detail = r.best
                self._near.offer(verdict, ts=at, market_id=ev.market_id, actor_id=actor,
                                 detail=detail)
                r.best = None
            return None
        f = self._judge(r, ev, n, self._min_messages if actor is not None
                        else self._market_min_messages, actor)
        if f is None:
            return None
        if actor is not None:
            self._actor_fired[ev.market_id] = ts
            return [f]
        fired = self._actor_fired.get(ev.market_id)
        if fired is not None and ts - fired <= self.window_ns:
            return None  # the actor-level finding already names who did it
        return [f]

    def _catch_up(self, r: _Rate) -> None:
        """The trims put off so far, before a message whose time goes back: since
        the last catch-up messages came in time order, so the largest cutoff put
        off is the last message's. The executions only if any message came since
        their last trim (_fill appends after doing them)."""
        cutoff = r.last_ts - self.window_ns
        window = r.window
        while window and window[0][0] <= cutoff:
            window.popleft()
        self._sync_fills(r)

    def _sync_fills(self, r: _Rate) -> None:
        """The executions' trims put off by the messages since they were last synced
        (nothing is put off when no message came since)."""
        fills = r.fills
        if fills and r.fills_synced != (r.bucket, r.bucket_count):
            cutoff = r.last_ts - self.window_ns
            while fills and fills[0] <= cutoff:
                fills.popleft()

    def _fill(self, r: _Rate, ts: int) -> None:
        fills = r.fills
        if fills is None:
            fills = r.fills = deque()
        else:
            self._sync_fills(r)  # before this execution joins them
        r.fills_synced = (r.bucket, r.bucket_count)
        fills.append(ts)
        cutoff = ts - self.window_ns
        while fills and fills[0] <= cutoff:
            fills.popleft()

    def _roll(self, r: _Rate, ts: int) -> None:
        """Close finished windows into the EWMA baseline (idle windows count as zero)."""
        b = ts // self.window_ns
        if r.bucket < 0:
            r.bucket = b
            r.next_roll = (b + 1) * self.window_ns if b >= 0 else -math.inf
            return
        if b <= r.bucket:
            return
        a = self.cfg.baseline_alpha
        r.ewma = a * r.bucket_count + self._decay * r.ewma
        skipped = b - r.bucket - 1
        if skipped:
            r.ewma *= self._decay ** min(skipped, 10_000)
        r.buckets_seen += 1 + skipped
        r.bucket = b
        r.next_roll = (b + 1) * self.window_ns if b >= 0 else -math.inf
        r.bucket_count = 0

    def _baseline(self, r: _Rate) -> float:
        if r.buckets_seen <= 0:
            return 0.0
        return r.ewma / (1.0 - self._decay ** min(r.buckets_seen, 10_000))

    def _judge(self, r: _Rate, ev: MarketEvent, n: int, min_messages: int,
               actor_id: str | None) -> AnomalyFinding | None:
        """An elevated key (at least half of ``min_messages`` in its window): fire or note."""
        ts = ev.ts
        cfg = self.cfg
        baseline = max(self._baseline(r), cfg.baseline_floor)
        fills = len(r.fills) if r.fills is not None else 0
        verdict = evaluate([
            Threshold("min_messages", float(n), float(min_messages)),
            Threshold("burst_multiple", n / baseline, cfg.burst_multiple),
            Threshold("max_fill_ratio", fills / n, cfg.max_fill_ratio, at_most=True,
                      calibrates=False),
            Threshold("min_history_ms", ms(ts - r.first_ts), cfg.min_history_ms,
                      calibrates=False),
        ])
        if not verdict.passed:
            if r.best is None or verdict.closeness > r.best[0].closeness:
                r.best = (verdict, ts, {"messages": n, "baseline": r6(baseline),
                                        "fills": fills})
            return None
        r.in_burst = True
        r.best = None
        start = r.window[0][0]
        counts = [0, 0, 0, 0]
        for _, c in r.window:
            counts[c] += 1
        evidence = {
            "scope": "actor" if actor_id is not None else "market",
            "window_ms": cfg.window_ms, "messages_in_window": n,
            "placements": counts[_PLACE], "cancels": counts[_CANCEL],
            "amends": counts[_AMEND], "book_updates": counts[_BOOK],
            "executions_in_window": fills, "fill_ratio": r6(fills / n),
            "baseline_per_window": r6(baseline), "burst_multiple": r6(n / baseline),
            "window_start_ts": start, "window_end_ts": ts,
            "observed_for_ms": ms(ts - r.first_ts),
        }
        who = actor_id if actor_id is not None else f"market {ev.market_id}"
        msg = (f"{who} sent {n} messages in {cfg.window_ms:g} ms, {n / baseline:.1f}x its "
               f"baseline of {baseline:.1f}, with {fills} executions")
        return make_finding(self.name, self.category, ev, actor_id=actor_id, verdict=verdict,
                            message=msg, citation=self.citation, evidence=evidence,
                            anonymous=actor_id is None)

    # ------------------------------------------------------------------ state

    def finish(self, ctx: Any = None) -> list[AnomalyFinding]:
        for (actor, market), r in sorted(self._actors.items()):
            self._flush_best(r, market, actor)
        for market, r in sorted(self._markets.items()):
            self._flush_best(r, market, None)
        return []

    def _flush_best(self, r: _Rate, market: str, actor: str | None) -> None:
        if r.best is not None:
            verdict, at, detail = r.best
            self._near.offer(verdict, ts=at, market_id=market, actor_id=actor, detail=detail)
            r.best = None

    def evict_idle(self, before_ts: int) -> None:
        for key in [k for k, r in self._actors.items() if r.last_ts < before_ts]:
            del self._actors[key]
        for m in [m for m, r in self._markets.items() if r.last_ts < before_ts]:
            del self._markets[m]
        for m in [m for m, ts in self._actor_fired.items() if ts < before_ts]:
            del self._actor_fired[m]
