"""In-memory flow store and audit sink: the core's dependency-free default for tests.

Nothing persists; one ``memory://name`` URL is one process-wide store, so a
test can open the same store twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..audit.chain import MemoryAuditSink
from ..components import FindingQuery, RunCounts, RunInfo
from ..findings import SEVERITY_RANK, AnomalyFinding
from ..profiles import ActorProfile


def finding_matches(f: AnomalyFinding, q: FindingQuery) -> bool:
    if q.since_ts is not None and f.ts < q.since_ts:
        return False
    if q.until_ts is not None and f.ts > q.until_ts:
        return False
    if q.categories and f.category not in q.categories:
        return False
    if q.severity_min and SEVERITY_RANK[f.severity] < SEVERITY_RANK[q.severity_min]:
        return False
    if q.venue and f.venue != q.venue:
        return False
    if q.market_id and f.market_id != q.market_id:
        return False
    if q.actor_id and f.actor_id != q.actor_id:
        return False
    return not (q.detector and f.detector != q.detector)


class MemoryFlowStore:
    _instances: dict[str, MemoryFlowStore] = {}

    def __new__(cls, url: str = "memory://") -> MemoryFlowStore:
        if url not in ("memory://", "memory:") and url in cls._instances:
            return cls._instances[url]
        inst = super().__new__(cls)
        inst._init(url)
        if url not in ("memory://", "memory:"):
            cls._instances[url] = inst
        return inst

    def _init(self, url: str) -> None:
        self.url = url
        self._findings: dict[str, AnomalyFinding] = {}
        self._profiles: dict[tuple[str, str], ActorProfile] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self._dead: list[dict[str, Any]] = []

    def write_finding(self, finding: AnomalyFinding) -> None:
        self._findings.setdefault(finding.id, finding)

    def upsert_profile(self, profile: ActorProfile) -> None:
        self._profiles[(profile.venue, profile.actor_id)] = profile

    def begin_run(self, run: RunInfo) -> None:
        self.runs[run.run_id] = {"info": run, "counts": None}

    def finish_run(self, run_id: str, counts: RunCounts) -> None:
        self.runs.setdefault(run_id, {})["counts"] = counts

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def findings(self, query: FindingQuery) -> Iterator[AnomalyFinding]:
        rows = sorted(self._findings.values(), key=lambda f: (f.ts, f.seq, f.id))
        n = 0
        for f in rows:
            if finding_matches(f, query):
                yield f
                n += 1
                if query.limit and n >= query.limit:
                    return

    def profiles(self, actor_id: str, venue: str | None = None) -> list[ActorProfile]:
        return [p for (v, a), p in sorted(self._profiles.items())
                if a == actor_id and (venue is None or v == venue)]

    def verify(self) -> list[str]:
        return []

    def add_dead_letter(self, route: str, payload: dict[str, Any], error: str, wall_ns: int) -> int:
        self._dead.append({"id": len(self._dead) + 1, "route": route, "payload": payload,
                           "error": error, "wall_ns": wall_ns, "resent_wall_ns": None})
        return len(self._dead)

    def dead_letters(self, route: str | None = None, *, include_resent: bool = False
                     ) -> list[dict[str, Any]]:
        return [d for d in self._dead if (route is None or d["route"] == route)
                and (include_resent or d["resent_wall_ns"] is None)]

    def mark_dead_letter_resent(self, dead_letter_id: int, wall_ns: int) -> None:
        self._dead[dead_letter_id - 1]["resent_wall_ns"] = wall_ns


_AUDIT: dict[str, MemoryAuditSink] = {}


def open_memory_audit_sink(url: str = "memory://") -> MemoryAuditSink:
    if url in ("memory://", "memory:"):
        return MemoryAuditSink(url)
    return _AUDIT.setdefault(url, MemoryAuditSink(url))
