"""Fatigue control for one route: filters, escalation, time windows, dedupe, rate limit, digest.

Pure logic over an injected clock (integer ns), so every rule is tested with
a fake clock. The order an item goes through:

1. scope: enabled, categories, venues, markets, confidence (not severity yet);
2. escalation: the Nth finding of at least ``escalate_severity`` on one actor
   within ``escalate_window_s`` becomes critical (and skips dedupe);
3. severity: at least ``severity_min`` and, for findings, the global floor;
4. time windows and weekdays in the route's time zone;
5. dedupe: same venue, actor, market and category within ``dedupe_window_s``
   of the last alert for it is counted, and the count rides on the next alert;
6. rate limit: at most ``rate_limit`` alerts per ``rate_window_s``; the rest is
   held for one digest, sent when the window has room again (checked on every
   offer and tick) and at shutdown.

Thread safety: one lock per route, because the delivery worker's idle tick
also releases digests.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from fnmatch import fnmatchcase

import attrs

from horizon_flow_core.findings import SEVERITY_RANK

from .config import RouteConfig
from .content import Annotations
from .items import FINDING, OPERATIONAL_SEVERITY, AlertItem
from .schedule import Schedule

NS = 1_000_000_000
NO_ANNOTATIONS = Annotations()
#: prune expired dedupe/escalation state when it grows past this many keys
PRUNE_AT = 4096

QUEUED = "queued"
FILTERED = "filtered"
BELOW_SEVERITY = "below_severity"
OUTSIDE_WINDOW = "outside_window"
DEDUPED = "deduped"
RATE_LIMITED = "rate_limited"
DROPPED = "dropped"


@attrs.frozen
class Alert:
    item: AlertItem
    annotations: Annotations = Annotations()


@attrs.frozen
class Digest:
    """What a route held back, sent as one message."""

    reason: str  # "rate limit" | "shutdown"
    since_ns: int
    total: int
    max_severity: str
    counts: tuple[tuple[str, str, int], ...]  # (category, severity, n), sorted
    examples: tuple[Alert, ...]
    similar: tuple[tuple[tuple[str, str, str, str], int, int], ...] = ()  # (key, n, since ts)


Outgoing = Alert | Digest


@attrs.frozen
class Decision:
    status: str
    outgoing: tuple[Outgoing, ...] = ()
    escalated: bool = False


class HeldBack:
    """Alerts kept back for one digest: counts by category and severity, the first
    ``max_examples`` in full. O(1) per alert, bounded memory."""

    def __init__(self, max_examples: int) -> None:
        self.max_examples = max_examples
        self.total = 0
        self.since_ns = 0
        self._counts: Counter[tuple[str, str]] = Counter()
        self._examples: list[Alert] = []
        self._max_rank = 0

    def add(self, alert: Alert, now: int) -> None:
        if not self.total:
            self.since_ns = now
        self.total += 1
        self._counts[(alert.item.category, alert.item.severity)] += 1
        self._max_rank = max(self._max_rank, alert.item.rank)
        if len(self._examples) < self.max_examples:
            self._examples.append(alert)

    def take(self, reason: str, now: int,
             similar: tuple[tuple[tuple[str, str, str, str], int, int], ...] = ()
             ) -> Outgoing:
        """Empty the buffer into one digest (a single alert goes out as itself)."""
        if self.total == 1 and self._examples and not similar:
            out: Outgoing = self._examples[0]
        else:
            ranks = {v: k for k, v in SEVERITY_RANK.items()}
            counts = tuple(sorted(((c, s, n) for (c, s), n in self._counts.items()),
                                  key=lambda t: (-SEVERITY_RANK[t[1]], t[0])))
            out = Digest(reason=reason, since_ns=self.since_ns if self.total else now,
                         total=self.total,
                         max_severity=ranks[self._max_rank] if self.total else "low",
                         counts=counts, examples=tuple(self._examples), similar=similar)
        self.total, self.since_ns, self._max_rank = 0, 0, 0
        self._counts.clear()
        self._examples = []
        return out


@attrs.define
class _Seen:
    last_sent_ns: int
    suppressed: int = 0
    first_suppressed_ts: int | None = None


class RoutePolicy:
    def __init__(self, name: str, config: RouteConfig, severity_floor: str = "high") -> None:
        self.name = name
        self.config = config
        self.schedule = Schedule.build(config.windows, config.weekdays, config.timezone)
        floor = severity_floor.lower() if severity_floor.lower() in SEVERITY_RANK else "high"
        self.severity_floor = floor
        self._route_rank = SEVERITY_RANK[config.severity_min]
        self._finding_rank = max(self._route_rank, SEVERITY_RANK[floor])
        self._esc_rank = SEVERITY_RANK[config.escalate_severity]
        self._lock = threading.Lock()
        self._sent: deque[int] = deque()
        self._held = HeldBack(config.digest_max_items)
        self._seen: dict[tuple[str, str, str, str], _Seen] = {}
        self._escalation: dict[tuple[str, str], deque[int]] = {}

    # ------------------------------------------------------------------ filters

    def in_scope(self, item: AlertItem) -> bool:
        c = self.config
        if not c.enabled:
            return False
        if c.categories:
            if not any(fnmatchcase(item.category, pat) for pat in c.categories):
                return False
        elif item.kind != FINDING or item.category in OPERATIONAL_SEVERITY:
            return False  # operational events only when a route asks for them
        if c.venues and item.venue not in c.venues:
            return False
        if c.markets and item.market_id not in c.markets:
            return False
        return not (item.kind == FINDING and item.confidence < c.confidence_min)

    # ------------------------------------------------------------------ offer

    def offer(self, item: AlertItem, now: int) -> Decision:
        if not self.in_scope(item):
            return Decision(FILTERED)
        with self._lock:
            out: list[Outgoing] = list(self._release_digest(now))
            item, ann = self._escalate(item, now)
            escalated = ann.escalated_from is not None
            min_rank = self._finding_rank if item.kind == FINDING else self._route_rank
            if item.rank < min_rank:
                return Decision(BELOW_SEVERITY, tuple(out), escalated)
            if not self.schedule.is_open(now):
                return Decision(OUTSIDE_WINDOW, tuple(out), escalated)
            ann, deduped = self._dedupe(item, ann, now, bypass=escalated)
            if deduped:
                return Decision(DEDUPED, tuple(out), escalated)
            alert = Alert(item, ann)
            if not self._take_slot(now):
                return Decision(self._hold(alert, now), tuple(out), escalated)
            out.append(alert)
            return Decision(QUEUED, tuple(out), escalated)

    def tick(self, now: int) -> list[Outgoing]:
        """A digest when the rate window has room again (called when idle)."""
        with self._lock:
            return self._release_digest(now)

    def close_flush(self, now: int) -> list[Outgoing]:
        """At shutdown: one digest of everything held and every similar count not yet told."""
        with self._lock:
            similar = tuple(sorted(
                (key, s.suppressed, s.first_suppressed_ts or 0)
                for key, s in self._seen.items() if s.suppressed))
            for s in self._seen.values():
                s.suppressed, s.first_suppressed_ts = 0, None
            if not self._held.total and not similar:
                return []
            return [self._held.take("shutdown", now, similar)]

    # ------------------------------------------------------------------ rules

    def _escalate(self, item: AlertItem, now: int) -> tuple[AlertItem, Annotations]:
        c = self.config
        if (not c.escalate_after or item.kind != FINDING or not item.actor_id
                or item.rank < self._esc_rank):
            return item, NO_ANNOTATIONS
        key = (item.venue, item.actor_id)
        times = self._escalation.get(key)
        if times is None:
            if len(self._escalation) >= PRUNE_AT:
                self._prune_escalation(now)
            times = self._escalation[key] = deque()
        horizon = now - int(c.escalate_window_s * NS)
        while times and times[0] <= horizon:
            times.popleft()
        times.append(now)
        if len(times) < c.escalate_after or item.severity == "critical":
            return item, NO_ANNOTATIONS
        times.clear()
        note = (f"{_ordinal(c.escalate_after)} finding of {c.escalate_severity} or above on actor "
                f"{item.actor_id} within {c.escalate_window_s:g} s")
        return (attrs.evolve(item, severity="critical"),
                Annotations(escalated_from=item.severity, escalation_note=note))

    def _prune_escalation(self, now: int) -> None:
        horizon = now - int(self.config.escalate_window_s * NS)
        for key in [k for k, t in self._escalation.items() if not t or t[-1] <= horizon]:
            del self._escalation[key]

    def _dedupe(self, item: AlertItem, ann: Annotations, now: int, *, bypass: bool
                ) -> tuple[Annotations, bool]:
        window = int(self.config.dedupe_window_s * NS)
        if not window:
            return ann, False
        key = item.dedupe_key
        seen = self._seen.get(key)
        if seen is not None and not bypass and now - seen.last_sent_ns < window:
            seen.suppressed += 1
            if seen.first_suppressed_ts is None:
                seen.first_suppressed_ts = item.ts
            return ann, True
        if seen is None:
            if len(self._seen) >= PRUNE_AT:
                self._prune_seen(now, window)
            self._seen[key] = _Seen(last_sent_ns=now)
            return ann, False
        if seen.suppressed:
            ann = attrs.evolve(ann, similar_count=seen.suppressed,
                               similar_since_ns=seen.first_suppressed_ts)
        seen.last_sent_ns, seen.suppressed, seen.first_suppressed_ts = now, 0, None
        return ann, False

    def _prune_seen(self, now: int, window: int) -> None:
        # entries still carrying a count are kept: it must reach a later alert or the digest
        for key in [k for k, s in self._seen.items()
                    if not s.suppressed and now - s.last_sent_ns >= window]:
            del self._seen[key]

    def _take_slot(self, now: int) -> bool:
        limit = self.config.rate_limit
        if not limit:
            return True
        horizon = now - int(self.config.rate_window_s * NS)
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()
        # while a digest is pending, newer alerts queue behind it (order is kept)
        if len(self._sent) >= limit or self._held.total:
            return False
        self._sent.append(now)
        return True

    def _hold(self, alert: Alert, now: int) -> str:
        if not self.config.digest:
            return DROPPED
        self._held.add(alert, now)
        return RATE_LIMITED

    def _release_digest(self, now: int) -> list[Outgoing]:
        if not self._held.total:
            return []
        horizon = now - int(self.config.rate_window_s * NS)
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()
        if len(self._sent) >= self.config.rate_limit:
            return []
        self._sent.append(now)
        return [self._held.take("rate limit", now)]

    @property
    def held(self) -> int:
        return self._held.total


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
