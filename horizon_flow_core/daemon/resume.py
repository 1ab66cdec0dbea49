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
second time either, the engine is told the ids stored recently.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from ..audit.chain import AuditCategory
from ..components import FindingQuery

log = logging.getLogger("horizon_flow.daemon")

_CHUNK = 4096
_MAX_SCAN = 2_000_000


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


def previous_run(sink: Any) -> PreviousRun | None:
    """The last ``run.started`` and whether a ``run.finished`` followed; None if there is none."""
    head = sink.head()
    if head is None:
        return None
    head_seq = head[0]
    last_ts = 0
    finished_after = False
    end = head_seq
    scanned = 0
    while end >= 1 and scanned < _MAX_SCAN:
        start = max(1, end - _CHUNK + 1)
        chunk: list[Any] = []
        for rec in sink.records(start):
            if rec.seq > end:
                break
            chunk.append(rec)
        scanned += len(chunk)
        if end == head_seq and chunk:
            last_ts = chunk[-1].ts
        for rec in reversed(chunk):
            if rec.category == AuditCategory.RUN_FINISHED:
                finished_after = True
            elif rec.category == AuditCategory.RUN_STARTED:
                payload = rec.payload if isinstance(rec.payload, dict) else {}
                run_id = payload.get("run_id")
                mode = payload.get("mode")
                return PreviousRun(started_seq=rec.seq, started_ts=rec.ts,
                                   run_id=run_id if isinstance(run_id, str) else None,
                                   mode=mode if isinstance(mode, str) else None,
                                   finished=finished_after, last_seq=head_seq, last_ts=last_ts)
        if not chunk:
            break
        end = start - 1
    if scanned >= _MAX_SCAN:
        log.warning("audit log: no run.started within the last %d records; not checking how "
                    "the previous run ended", _MAX_SCAN)
    return None


def recent_finding_ids(store: Any, venues: list[str], since_ts: int, limit: int) -> list[str]:
    """Ids of stored findings of ``venues`` with event time from ``since_ts``, newest ``limit``
    per venue."""
    ids: list[str] = []
    for venue in venues:
        try:
            picked = [f.id for f in store.findings(FindingQuery(venue=venue, since_ts=since_ts))
                      if f.id]
        except Exception as exc:  # a store that cannot answer must not stop the start-up
            log.warning("cannot read stored findings of %s to avoid re-alerting them after a "
                        "restart: %s", venue, exc)
            continue
        ids.extend(picked[-limit:])
    return ids


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
