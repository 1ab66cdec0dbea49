"""Read-side helpers the CLI verbs call: open a store, an actor's report, a findings digest."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import attrs

from horizon_flow_core.components import FindingQuery
from horizon_flow_core.findings import AnomalyFinding
from horizon_flow_core.jsonio import canonical
from horizon_flow_core.profiles import ActorProfile

from .flow_store import SQLiteFlowStore
from .records import ClusterRecord, PolicyRecord


def open_flow_store(url_or_path: str | os.PathLike[str], *, read_only: bool = False
                    ) -> SQLiteFlowStore:
    """Open a flow store; ``read_only`` for query verbs (never creates or migrates the file)."""
    return SQLiteFlowStore(url_or_path, read_only=read_only)


@contextlib.contextmanager
def reading(store: SQLiteFlowStore | str | os.PathLike[str]) -> Iterator[SQLiteFlowStore]:
    """An open store as is, or a path/URL opened read-only for the block."""
    if isinstance(store, SQLiteFlowStore):
        yield store
        return
    opened = SQLiteFlowStore(store, read_only=True)
    try:
        yield opened
    finally:
        opened.close()


@attrs.frozen
class ActorReport:
    """``flow profile``: an actor's profiles (one per venue), findings, clusters, policies."""

    actor_id: str
    profiles: tuple[ActorProfile, ...]
    findings: tuple[AnomalyFinding, ...]
    findings_total: int
    findings_by_category: dict[str, int]
    findings_by_severity: dict[str, int]
    clusters: tuple[ClusterRecord, ...]
    policies: tuple[PolicyRecord, ...]

    @property
    def found(self) -> bool:
        return bool(self.profiles or self.findings_total or self.clusters or self.policies)

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "profiles": [dict(p.to_dict(), top_class=p.top_class if p.taxonomy else None)
                         for p in self.profiles],
            "findings": [f.to_dict() for f in self.findings],
            "findings_total": self.findings_total,
            "findings_by_category": self.findings_by_category,
            "findings_by_severity": self.findings_by_severity,
            "clusters": [attrs.asdict(c) for c in self.clusters],
            "policies": [attrs.asdict(p) for p in self.policies],
        }


def actor_report(store: SQLiteFlowStore | str | os.PathLike[str], actor_id: str, *,
                 venue: str | None = None, limit: int = 0) -> ActorReport:
    """Everything the store knows about ``actor_id``; ``limit`` caps the findings listed
    (newest kept, 0 = all); the counts always cover every finding."""
    with reading(store) as s:
        q = FindingQuery(actor_id=actor_id, venue=venue)
        by_cat: Counter[str] = Counter()
        by_sev: Counter[str] = Counter()
        listed: list[AnomalyFinding] = []
        total = 0
        for f in s.findings(q):
            total += 1
            by_cat[f.category] += 1
            by_sev[f.severity] += 1
            listed.append(f)
            if limit and len(listed) > limit:
                listed.pop(0)
        return ActorReport(
            actor_id=actor_id, profiles=tuple(s.profiles(actor_id, venue)),
            findings=tuple(listed), findings_total=total,
            findings_by_category=dict(sorted(by_cat.items())),
            findings_by_severity=dict(sorted(by_sev.items())),
            clusters=tuple(s.clusters(venue=venue, actor_id=actor_id)),
            policies=tuple(s.policies(actor_id=actor_id, venue=venue)))


def findings_digest(store: SQLiteFlowStore | str | os.PathLike[str],
                    query: FindingQuery | None = None) -> str:
    """SHA-256 over the canonical JSON Lines export of the findings in (ts, seq, id) order.

    Two replays of the same feed and config give the same digest.
    """
    with reading(store) as s:
        h = hashlib.sha256()
        for f in s.findings(query or FindingQuery()):
            h.update(canonical(f.to_dict()))
            h.update(b"\n")
        return h.hexdigest()
