"""Audit records, the chain that links them, and its verification.

Each record carries ``seq``, ``ts`` (integer ns), ``category``, ``payload``,
``prev_hash`` and ``hash``. The hash is SHA-256 over the canonical encoding
(:func:`horizon_flow_core.jsonio.canonical`) of every other field, so
changing any byte of a record, or the order of records, breaks the chain at
that record.

Time: in a replay the engine stamps records with the triggering event's
time, never the wall clock, so two replays of the same feed and config give
byte-identical chains. A live daemon passes a wall clock and records it.
"""

from __future__ import annotations

import enum
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from ..jsonio import canonical

GENESIS_HASH = "0" * 64


class AuditCategory(enum.StrEnum):
    FLOW_ANOMALY = "flow.anomaly"
    BOT_DETECTED = "flow.bot_detected"
    ACTOR_PROFILED = "actor.profiled"
    COMPONENT_ERROR = "component.error"
    COMPONENT_QUARANTINED = "component.quarantined"
    FEED_GAP = "feed.gap"
    FEED_STALE = "feed.stale"
    RUN_STARTED = "run.started"
    RUN_FINISHED = "run.finished"
    RUN_RESUMED = "run.resumed"
    STORE_ERROR = "store.error"
    CHAIN_FAILED = "audit.chain_failed"
    ALERT_DEAD_LETTER = "alert.dead_letter"

    # the earlier module's spellings
    FlowAnomaly = "flow.anomaly"
    BotDetected = "flow.bot_detected"
    ActorProfiled = "actor.profiled"
    FeedGap = "feed.gap"
    FeedStale = "feed.stale"


@attrs.frozen
class AuditRecord:
    seq: int
    ts: int
    category: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    #: ``canonical(payload)`` as hashed, when the record was made by an
    #: :class:`AuditLog`: a sink stores these bytes instead of encoding the
    #: payload a second time. Not part of the record's identity.
    payload_json: bytes | None = attrs.field(default=None, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts, "category": self.category,
                "payload": self.payload, "prev_hash": self.prev_hash, "hash": self.hash}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AuditRecord:
        return cls(seq=d["seq"], ts=d["ts"], category=d["category"], payload=d["payload"],
                   prev_hash=d["prev_hash"], hash=d["hash"])


def record_hash(seq: int, ts: int, category: str, payload: dict[str, Any], prev_hash: str) -> str:
    body = canonical({"seq": seq, "ts": ts, "category": category, "payload": payload,
                      "prev_hash": prev_hash})
    return hashlib.sha256(body).hexdigest()


def record_hash_from_json(seq: int, ts: int, category: str, payload_json: bytes,
                          prev_hash: str) -> str:
    """:func:`record_hash` given ``canonical(payload)``: the same bytes are hashed.

    The canonical body is the five keys in sorted order (category, payload,
    prev_hash, seq, ts) without whitespace, so it is assembled around the
    payload's own canonical encoding instead of encoding the payload again.
    """
    body = b"".join((b'{"category":', canonical(category), b',"payload":', payload_json,
                     b',"prev_hash":', canonical(prev_hash), b',"seq":', canonical(seq),
                     b',"ts":', canonical(ts), b"}"))
    return hashlib.sha256(body).hexdigest()


@attrs.frozen
class ChainProblem:
    """The first record where the chain breaks, and why."""

    seq: int
    position: int
    reason: str

    def __str__(self) -> str:
        return f"audit record seq {self.seq} (position {self.position}): {self.reason}"


def verify_chain(records: Iterable[AuditRecord]) -> tuple[int, ChainProblem | None]:
    """Recompute the chain. Returns (records checked, first problem or None)."""
    prev_hash = None
    prev_seq = None
    n = 0
    for n, rec in enumerate(records, start=1):
        pos = n - 1
        if prev_seq is None:
            if rec.seq != 1 and rec.prev_hash == GENESIS_HASH:
                return n, ChainProblem(rec.seq, pos, f"first record has seq {rec.seq}, expected 1")
        elif rec.seq != prev_seq + 1:
            return n, ChainProblem(rec.seq, pos,
                                   f"sequence jumps from {prev_seq} to {rec.seq} "
                                   "(a record is missing or out of order)")
        if prev_hash is not None and rec.prev_hash != prev_hash:
            return n, ChainProblem(rec.seq, pos, "prev_hash does not match the previous "
                                   "record's hash (records removed or reordered)")
        if prev_hash is None and rec.seq == 1 and rec.prev_hash != GENESIS_HASH:
            return n, ChainProblem(rec.seq, pos, "first record does not start from genesis")
        expected = record_hash(rec.seq, rec.ts, rec.category, rec.payload, rec.prev_hash)
        if expected != rec.hash:
            return n, ChainProblem(rec.seq, pos, "hash does not match the record's content "
                                   "(payload, time or category altered)")
        prev_hash = rec.hash
        prev_seq = rec.seq
    return n, None


class MemoryAuditSink:
    """An in-memory audit sink (tests, ``memory://``)."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._records: list[AuditRecord] = []

    def head(self) -> tuple[int, str] | None:
        if not self._records:
            return None
        last = self._records[-1]
        return last.seq, last.hash

    def append(self, records: Sequence[AuditRecord]) -> None:
        self._records.extend(records)

    def records(self, start_seq: int = 0) -> Iterator[AuditRecord]:
        return (r for r in list(self._records) if r.seq >= start_seq)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class AuditLog:
    """Appends hash-chained records to a sink.

    ``clock``: ``None`` in replays (records take the time the caller gives,
    the triggering event's); a function returning wall-clock ns in the live
    daemon. Records are buffered and handed to the sink in batches of
    ``batch_size`` and on :meth:`flush`; listeners (alert routers) see each
    record as it is made.
    """

    def __init__(self, sink: Any, *, clock: Callable[[], int] | None = None,
                 batch_size: int = 256, flush_interval_s: float = 0.25) -> None:
        self.sink = sink
        self._clock = clock
        self._batch_size = batch_size
        # The audit log is the authority: it flushes at least as often as the
        # flow store (batched on size and within a second), so after a crash
        # the store never holds a finding the audit log lacks for long.
        self._flush_interval_ns = int(flush_interval_s * 1e9)
        self._last_flush_ns = time.monotonic_ns()
        self._pending: list[AuditRecord] = []
        self._listeners: list[Callable[[AuditRecord], None]] = []
        head = sink.head()
        self._seq: int = head[0] if head is not None else 0
        self._prev: str = head[1] if head is not None else GENESIS_HASH
        self.records_written = 0
        # record() may be called from the engine and from a daemon's housekeeping
        # thread; the chain must never fork
        self._lock = threading.RLock()
        self.closed = False

    @property
    def head(self) -> tuple[int, str]:
        return self._seq, self._prev

    def subscribe(self, listener: Callable[[AuditRecord], None]) -> None:
        self._listeners.append(listener)

    def record(self, category: str, payload: dict[str, Any], ts: int | None = None) -> AuditRecord:
        with self._lock:
            if self._clock is not None:
                ts = self._clock()
            seq = self._seq + 1
            cat = str(category)
            rec_ts = int(ts or 0)
            payload_json = canonical(payload)
            h = record_hash_from_json(seq, rec_ts, cat, payload_json, self._prev)
            rec = AuditRecord(seq, rec_ts, cat, payload, self._prev, h, payload_json)
            self._seq, self._prev = seq, h
            self._pending.append(rec)
            self.records_written += 1
            if (len(self._pending) >= self._batch_size
                    or time.monotonic_ns() - self._last_flush_ns >= self._flush_interval_ns):
                self.flush()
        for listener in self._listeners:
            listener(rec)
        return rec

    def flush(self, sync: bool = True) -> None:
        with self._lock:
            self._last_flush_ns = time.monotonic_ns()
            if self._pending:
                batch, self._pending = self._pending, []
                self.sink.append(batch)
            if sync:
                self.sink.flush()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                self.flush()
            finally:
                self.closed = True
                self.sink.close()

    def verify(self) -> tuple[int, ChainProblem | None]:
        self.flush()
        return verify_chain(self.sink.records())
