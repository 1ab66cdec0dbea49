"""What a route decides about: one finding or one operational audit event, flattened.

Findings and operational events (``feed.gap``, ``component.quarantined``,
``audit.chain_failed``...) are routed by the same filters, so both become an
:class:`AlertItem`. The actor's taxonomy class is copied from the profile the
engine passed in, so the alert can say what kind of trader this is.
"""

from __future__ import annotations

from typing import Any

import attrs

from horizon_flow_core.findings import SEVERITY_RANK, AnomalyFinding
from horizon_flow_core.profiles import ActorProfile

#: Audit categories that are routable, with the severity they carry unless the
#: record's payload names one. Anything else (``flow.anomaly``, ``run.*``,
#: ``alert.dead_letter``...) is never routed from the audit log: findings come
#: through ``notify_finding``, and alerting on our own dead letters would loop.
OPERATIONAL_SEVERITY: dict[str, str] = {
    "audit.chain_failed": "critical",
    "component.error": "medium",
    "component.quarantined": "high",
    "feed.gap": "high",
    "feed.stale": "high",
    "store.error": "high",
}

FINDING = "finding"
OPERATIONAL = "operational"


@attrs.frozen
class AlertItem:
    kind: str  # finding | operational
    category: str
    severity: str
    confidence: float
    venue: str
    market_id: str
    actor_id: str | None
    ts: int
    message: str
    citation: str
    evidence: dict[str, Any] = attrs.field(factory=dict)
    detector: str = ""
    finding_id: str = ""
    seq: int = 0
    taxonomy_class: str | None = None
    taxonomy_prob: float | None = None
    audit_seq: int | None = None
    audit_hash: str | None = None

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]

    @property
    def dedupe_key(self) -> tuple[str, str, str, str]:
        """Same actor, market and category (within a venue) are "similar"."""
        return (self.venue, self.actor_id or "", self.market_id, self.category)

    def summary_line(self) -> str:
        who = self.actor_id or "-"
        ident = f" id {self.finding_id}" if self.finding_id else ""
        return (f"{self.severity.upper()} {self.category} {self.venue}/{self.market_id} "
                f"actor {who} conf {self.confidence:.2f}{ident}")


def item_from_finding(finding: AnomalyFinding, profile: ActorProfile | None) -> AlertItem:
    cls: str | None = None
    prob: float | None = None
    if profile is not None and profile.taxonomy:
        cls = profile.top_class
        prob = float(profile.taxonomy.get(cls, 0.0))
    return AlertItem(
        kind=FINDING, category=finding.category, severity=finding.severity,
        confidence=finding.confidence, venue=finding.venue, market_id=finding.market_id,
        actor_id=finding.actor_id, ts=finding.ts, message=finding.message,
        citation=finding.citation, evidence=dict(finding.evidence), detector=finding.detector,
        finding_id=finding.id, seq=finding.seq, taxonomy_class=cls, taxonomy_prob=prob,
    )


def item_from_record(record: Any) -> AlertItem | None:
    """An operational audit record as an alert item; ``None`` for categories never routed."""
    category = str(getattr(record, "category", ""))
    payload = getattr(record, "payload", None)
    payload = payload if isinstance(payload, dict) else {}
    if category == "component.error":
        if payload.get("kind") == "alert":
            return None  # an alert sink's own failure: routing it through alerts could loop
        if payload.get("kind") == "store":
            category = "store.error"  # the engine reports store failures as component errors
    default = OPERATIONAL_SEVERITY.get(category)
    if default is None:
        return None
    severity = str(payload.get("severity", default)).lower()
    if severity not in SEVERITY_RANK:
        severity = default
    # the engine audits feed.gap / feed.stale as {"event": <the event>}
    raw_event = payload.get("event")
    event: dict[str, Any] = raw_event if isinstance(raw_event, dict) else {}
    venue = str(payload.get("venue") or event.get("venue") or "")
    market = str(payload.get("market_id") or payload.get("market") or event.get("market_id")
                 or "")
    what = payload.get("message") or payload.get("reason") or payload.get("error")
    component = payload.get("component")
    parts = [category]
    if component:
        parts.append(f"component {component}")
    if venue or market:
        parts.append(f"on {venue or '-'}/{market or '-'}")
    message = " ".join(parts) + (f": {what}" if what else "")
    evidence = {k: v for k, v in payload.items()
                if k not in ("message", "reason", "error", "severity", "event")}
    if event:
        extra = event.get("extra")
        evidence.update(extra if isinstance(extra, dict) else {})
        evidence["event_ts"] = event.get("ts")
    seq = int(getattr(record, "seq", 0) or 0)
    rhash = str(getattr(record, "hash", "") or "")
    return AlertItem(
        kind=OPERATIONAL, category=category, severity=severity, confidence=1.0, venue=venue,
        market_id=market, actor_id=None, ts=int(getattr(record, "ts", 0) or 0),
        message=message, citation=f"audit record seq {seq} hash {rhash[:16]}",
        evidence=evidence, detector=str(component or ""), seq=seq, audit_seq=seq,
        audit_hash=rhash or None,
    )
