"""Findings: what a detector concluded, with the evidence that made it fire.

A finding's ``id`` is derived from its content (not from the engine's ingest
counter), so replaying the same feed gives the same ids and a daemon that
restarts after a crash can recognise a finding it already stored.
"""

from __future__ import annotations

import enum
import hashlib
from typing import Any, Final

import attrs

from .jsonio import canonical


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    # the earlier module's spellings
    Low = "low"
    Medium = "medium"
    High = "high"
    Critical = "critical"

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.value]


AnomalySeverity = Severity

SEVERITY_RANK: Final[dict[str, int]] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def parse_severity(value: str) -> Severity:
    """Accept any case (``High``, ``HIGH``, ``high``); raise ValueError otherwise."""
    try:
        return Severity(str(value).lower())
    except ValueError:
        raise ValueError(
            f"unknown severity {value!r}; expected one of low, medium, high, critical"
        ) from None


def severity_at_least(severity: str, floor: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[floor]


class Category(enum.StrEnum):
    """The built-in categories. Plugins may use any other lower-case string."""

    SPOOFING = "spoofing"
    LAYERING = "layering"
    QUOTE_STUFFING = "quote_stuffing"
    WASH_TRADE = "wash_trade"
    MOMENTUM_IGNITION = "momentum_ignition"
    ICEBERG = "iceberg"
    SPLIT_ORDER = "split_order"

    Spoofing = "spoofing"
    Layering = "layering"
    QuoteStuffing = "quote_stuffing"
    WashTrade = "wash_trade"
    MomentumIgnition = "momentum_ignition"
    Iceberg = "iceberg"
    SplitOrder = "split_order"


AnomalyCategory = Category


def _confidence(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"confidence must be in [0, 1], got {value}")


def _severity(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in SEVERITY_RANK:
        raise ValueError(f"severity must be one of low, medium, high, critical, got {value!r}")


def _as_str(value: object) -> str:
    return str(value)


def _lower_str(value: object) -> str:
    return str(value).lower()


@attrs.frozen
class AnomalyFinding:
    """One finding. ``id`` and ``seq`` are filled by the engine when it emits the finding."""

    detector: str
    category: str = attrs.field(converter=_as_str)
    severity: str = attrs.field(converter=_lower_str, validator=_severity)
    confidence: float = attrs.field(converter=float, validator=_confidence)
    venue: str
    market_id: str
    actor_id: str | None
    ts: int
    message: str
    citation: str
    evidence: dict[str, Any] = attrs.field(factory=dict)
    seq: int = 0
    id: str = ""

    @classmethod
    def make(
        cls,
        *,
        detector_name: str | None = None,
        detector: str | None = None,
        category: str,
        severity: str,
        confidence: float,
        market_id: str,
        venue_name: str | None = None,
        venue: str | None = None,
        actor_id: str | None = None,
        message: str = "",
        citation: str = "",
        evidence: dict[str, Any] | None = None,
        ts: int = 0,
    ) -> AnomalyFinding:
        """Keyword constructor accepting the earlier module's argument names.

        ``ts`` may be left 0: the engine sets it to the triggering event's time.
        """
        name = detector or detector_name
        if not name:
            raise ValueError("a finding needs its detector's name")
        return cls(
            detector=name, category=category, severity=severity, confidence=confidence,
            venue=venue or venue_name or "", market_id=market_id, actor_id=actor_id, ts=ts,
            message=message, citation=citation, evidence=dict(evidence or {}),
        )

    def content_key(self) -> dict[str, Any]:
        """The fields a finding's identity is derived from (not seq, not id)."""
        return {
            "detector": self.detector, "category": self.category, "venue": self.venue,
            "market_id": self.market_id, "actor_id": self.actor_id, "ts": self.ts,
            "evidence": self.evidence,
        }

    def with_identity(self, *, seq: int, ts: int | None = None, venue: str | None = None
                      ) -> AnomalyFinding:
        """The finding as the engine emits it: time, venue, ingest seq and content id set."""
        f = self
        if (ts is not None and not f.ts) or (venue and not f.venue):
            f = attrs.evolve(f, ts=f.ts or (ts or 0), venue=f.venue or (venue or ""))
        fid = hashlib.sha256(canonical(f.content_key())).hexdigest()[:32]
        return attrs.evolve(f, seq=seq, id=fid)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self, recurse=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnomalyFinding:
        return cls(**{a.name: d[a.name] for a in attrs.fields(cls) if a.name in d})
