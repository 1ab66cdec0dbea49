"""Rows <-> records: findings, profiles, clusters and policies as SQLite rows.

JSON columns hold :func:`horizon_flow_core.jsonio.canonical` text (sorted keys,
no whitespace), so the same record always gives the same bytes and a finding's
id can be recomputed from its row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import orjson

from horizon_flow_core.errors import StoreError
from horizon_flow_core.findings import SEVERITY_RANK, AnomalyFinding
from horizon_flow_core.jsonio import canonical, loads
from horizon_flow_core.profiles import ActorProfile

FINDING_COLUMNS: tuple[str, ...] = (
    "id", "detector", "category", "severity", "severity_rank", "confidence", "venue",
    "market_id", "actor_id", "ts", "seq", "message", "citation", "evidence",
)
PROFILE_COLUMNS: tuple[str, ...] = (
    "venue", "actor_id", "event_count", "features", "taxonomy", "top_class",
    "last_updated_seq", "ts",
)


def canonical_text(obj: Any, what: str) -> str:
    try:
        return canonical(obj).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise StoreError(f"{what}: not JSON-serializable ({exc})") from None


def finding_id(finding: AnomalyFinding) -> str:
    """The content-derived id, computed by the core's :meth:`AnomalyFinding.with_identity`."""
    return finding.with_identity(seq=finding.seq).id


def _fast_finding_id(finding: AnomalyFinding) -> str:
    # What with_identity computes, without its two attrs.evolve copies (a third of
    # the cost of storing a finding). Used only as a fast path: a mismatch is
    # re-checked with finding_id, so a change of the core's formula costs speed, not
    # correctness.
    return hashlib.sha256(canonical(finding.content_key())).hexdigest()[:32]


def id_matches_content(finding: AnomalyFinding) -> bool:
    return _fast_finding_id(finding) == finding.id or finding_id(finding) == finding.id


def finding_row(finding: AnomalyFinding) -> tuple[Any, ...]:
    """The row for ``finding``; a finding the engine did not finalise gets its content id.

    A finding whose id does not match its content is refused: ids are how
    duplicates are recognised and how ``verify`` detects altered rows.
    """
    try:
        expected = _fast_finding_id(finding)
        if expected != finding.id:
            expected = finding_id(finding)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise StoreError(f"finding from detector {finding.detector!r}: evidence is not "
                         f"JSON-serializable ({exc})") from None
    if not finding.id:
        finding = attrs.evolve(finding, id=expected)
    elif finding.id != expected:
        raise StoreError(f"finding {finding.id} from detector {finding.detector!r}: id does not "
                         f"match its content (expected {expected}); findings get their id from "
                         "AnomalyFinding.with_identity")
    evidence = canonical_text(finding.evidence,
                              f"finding {finding.id} from detector {finding.detector!r}: "
                              "evidence")
    return (finding.id, finding.detector, finding.category, finding.severity,
            SEVERITY_RANK[finding.severity], float(finding.confidence), finding.venue,
            finding.market_id, finding.actor_id, int(finding.ts), int(finding.seq),
            finding.message, finding.citation, evidence)


def row_to_finding(row: Sequence[Any]) -> AnomalyFinding:
    """A row selected as ``FINDING_COLUMNS`` (in that order) back to a finding."""
    (fid, detector, category, severity, _rank, confidence, venue, market_id, actor_id, ts, seq,
     message, citation, evidence) = row
    return AnomalyFinding(
        detector=detector, category=category, severity=severity, confidence=confidence,
        venue=venue, market_id=market_id, actor_id=actor_id, ts=ts, message=message,
        citation=citation, evidence=loads(evidence), seq=seq, id=fid)


def profile_row(profile: ActorProfile) -> tuple[Any, ...]:
    what = f"profile of {profile.venue}/{profile.actor_id}"
    top = profile.top_class if profile.taxonomy else None
    return (profile.venue, profile.actor_id, int(profile.event_count),
            canonical_text(profile.features, f"{what}: features"),
            canonical_text(profile.taxonomy, f"{what}: taxonomy"), top,
            int(profile.last_updated_seq), int(profile.ts))


def row_to_profile(row: Sequence[Any]) -> ActorProfile:
    venue, actor_id, event_count, features, taxonomy, _top, last_seq, ts = row
    return ActorProfile(venue=venue, actor_id=actor_id, event_count=event_count,
                        features=loads(features), taxonomy=loads(taxonomy),
                        last_updated_seq=last_seq, ts=ts)


def _sorted_members(members: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(members))


@attrs.frozen
class ClusterRecord:
    """A group of actors believed to act together (upserted by ``cluster_id``).

    ``members`` are actor ids (stored sorted); ``method`` names the clustering
    that produced it; ``features`` the numbers behind it.
    """

    cluster_id: str
    venue: str
    members: tuple[str, ...] = attrs.field(converter=_sorted_members)
    method: str
    score: float = attrs.field(converter=float)
    features: dict[str, Any] = attrs.field(factory=dict)
    last_updated_seq: int = 0
    ts: int = 0

    def row(self) -> tuple[Any, ...]:
        what = f"cluster {self.cluster_id}"
        return (self.cluster_id, self.venue, canonical_text(list(self.members), what),
                self.method, self.score, canonical_text(self.features, f"{what}: features"),
                int(self.last_updated_seq), int(self.ts))

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> ClusterRecord:
        cid, venue, members, method, score, features, last_seq, ts = row
        return cls(cluster_id=cid, venue=venue, members=tuple(loads(members)), method=method,
                   score=score, features=loads(features), last_updated_seq=last_seq, ts=ts)


@attrs.frozen
class PolicyRecord:
    """A recovered trading policy of an actor at a point in time (append-only).

    ``id`` is derived from the content when left empty, so writing the same
    policy twice stores it once.
    """

    venue: str
    actor_id: str
    model: str
    params: dict[str, Any]
    ts: int
    seq: int = 0
    id: str = ""

    def content_id(self) -> str:
        body = {"venue": self.venue, "actor_id": self.actor_id, "model": self.model,
                "params": self.params, "ts": self.ts}
        return hashlib.sha256(canonical(body)).hexdigest()[:32]

    def row(self) -> tuple[Any, ...]:
        pid = self.id or self.content_id()
        return (pid, self.venue, self.actor_id, self.model,
                canonical_text(self.params, f"policy {pid}: params"), int(self.ts),
                int(self.seq))

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> PolicyRecord:
        pid, venue, actor_id, model, params, ts, seq = row
        return cls(venue=venue, actor_id=actor_id, model=model, params=loads(params), ts=ts,
                   seq=seq, id=pid)
