"""Picking up after the previous run: was it stopped cleanly, and what did it already find?

A run that ended cleanly wrote ``run.finished`` after its ``run.started``;
a crash, SIGKILL or power loss leaves the last ``run.started`` without one.
The daemon then writes ``run.resumed`` with the time of the last record the
previous run stored and the restart time: the interval the daemon was blind.
The audit log is read backwards in chunks from its head, so a long log costs
only the records since the last run started.

Finding ids are derived from content, so a finding found again after a
restart (a venue re-sends recent trades on subscribe) has the id already
stored; the SQLite store ignores it. So that it is not audited and alerted a
second time either, the engine is told the ids audited recently (the audit
log is the authority; its records of a live run carry the wall clock, so
"recently" is measured on it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import attrs

from ..audit.chain import AuditCategory
from ..components import FindingQuery

log = logging.getLogger("horizon_flow.daemon")

_CHUNK = 4096
_MAX_SCAN = 2_000_000
_FINDING_CATEGORIES = frozenset({AuditCategory.FLOW_ANOMALY, AuditCategory.BOT_DETECTED})


@attrs.frozen
class PreviousRun:
    """What the audit log says about the last run before this one."""

    started_seq: int
    started_ts: int
    run_id: str | None
    mode: str | None
    finished: bool
    #: seq and time of the newest record in the log (the previous run's last word)
    last_seq: int
    last_ts: int


def read_back(sink: Any) -> Iterator[Any]:
    """The sink's records newest first, read forwards in chunks of ``_CHUNK`` from the head."""
    head = sink.head()
    if head is None:
        return
    end = head[0]
    scanned = 0
    while end >= 1 and scanned < _MAX_SCAN:
        start = max(1, end - _CHUNK + 1)
        chunk: list[Any] = []
        for rec in sink.records(start):
            if rec.seq > end:
                break
            chunk.append(rec)
        if not chunk:
            return
        scanned += len(chunk)
        yield from reversed(chunk)
        end = start - 1
    if scanned >= _MAX_SCAN:
        log.warning("audit log: stopped reading back after %d records", scanned)


def previous_run(sink: Any) -> PreviousRun | None:
    """The last ``run.started`` and whether a ``run.finished`` followed; None if there is none."""
    head = sink.head()
    if head is None:
        return None
    last_ts: int | None = None
    finished_after = False
    for rec in read_back(sink):
        if last_ts is None:
            last_ts = rec.ts
        if rec.category == AuditCategory.RUN_FINISHED:
            finished_after = True
        elif rec.category == AuditCategory.RUN_STARTED:
            payload = rec.payload if isinstance(rec.payload, dict) else {}
            run_id = payload.get("run_id")
            mode = payload.get("mode")
            return PreviousRun(started_seq=rec.seq, started_ts=rec.ts,
                               run_id=run_id if isinstance(run_id, str) else None,
                               mode=mode if isinstance(mode, str) else None,
                               finished=finished_after, last_seq=head[0],
                               last_ts=last_ts or 0)
    return None


def recent_finding_ids(sink: Any, since_ts: int, limit: int
                       ) -> dict[str, list[tuple[str, int]]]:
    """``(id, event ts)`` of findings audited from ``since_ts`` on (record time: the wall
    clock of a live run), oldest first, at most ``limit`` per venue."""
    found: dict[str, list[tuple[str, int]]] = {}
    for rec in read_back(sink):
        if rec.ts < since_ts:
            break
        if rec.category not in _FINDING_CATEGORIES:
            continue
        f = rec.payload.get("finding") if isinstance(rec.payload, dict) else None
        if not isinstance(f, dict) or not isinstance(f.get("id"), str):
            continue
        ids = found.setdefault(str(f.get("venue")), [])
        if len(ids) < limit:
            ts = f.get("ts")
            ids.append((f["id"], ts if isinstance(ts, int) else 0))
    return {venue: ids[::-1] for venue, ids in sorted(found.items())}


def stored_among(store: Any, venue: str, candidates: list[tuple[str, int]]) -> list[str]:
    """The candidate ids the store holds. A finding audited but lost from the store's
    buffer by a crash is not among them, so it is emitted (and stored) again."""
    if not candidates:
        return []
    since = min(ts for _, ts in candidates)
    try:
        held = {f.id for f in store.findings(FindingQuery(venue=venue, since_ts=since))}
    except Exception as exc:  # a store that cannot answer must not stop the start-up
        log.warning("cannot read stored findings of %s: %s; they may be audited again",
                    venue, exc)
        return []
    return [fid for fid, _ in candidates if fid in held]


def remember_finding_ids(engine: Any, ids: list[str]) -> int:
    """Tell ``engine`` these findings were already emitted. Returns how many it took.

    Uses ``engine.remember_finding_ids`` when the engine offers it; the core
    engine keeps them in its recent-ids memory (bounded, oldest dropped first).
    """
    fn = getattr(engine, "remember_finding_ids", None)
    if callable(fn):
        fn(ids)
        return len(ids)
    recent = getattr(engine, "_recent_ids", None)
    if recent is None:
        return 0
    for fid in ids:
        recent[fid] = None
    return len(ids)
