"""Pieces every built-in detector shares: units, sides, threshold checks, near-misses.

Thresholds are checked through :class:`Threshold` so that the same numbers
serve three purposes: deciding whether to fire, calibrating confidence
(:mod:`.calibration`) and, when a candidate falls short, reporting which
threshold stopped it (:class:`NearMisses`, read by ``flow explain``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from horizon_flow_core.events import MarketEvent
from horizon_flow_core.findings import AnomalyFinding

from . import calibration

NS_PER_MS: Final = 1_000_000
NS_PER_S: Final = 1_000_000_000

BUY: Final = "buy"
SELL: Final = "sell"

#: "Nothing due": a time later than any event's, for a detector's next-expiry
#: mark. An int, so the per-event ``ts > due`` compares two ints (an int against
#: ``math.inf`` takes CPython's slower mixed-type comparison).
NEVER: Final = 1 << 256


def ms_to_ns(ms: float) -> int:
    return int(round(ms * NS_PER_MS))


def s_to_ns(s: float) -> int:
    return int(round(s * NS_PER_S))


def opposite(side: str | None) -> str | None:
    if side == BUY:
        return SELL
    if side == SELL:
        return BUY
    return None


def r6(x: float) -> float:
    """Round for evidence: readable, and identical on every machine."""
    return round(float(x), 6)


def ms(ns: int) -> float:
    """Nanoseconds as milliseconds, for evidence."""
    return round(ns / NS_PER_MS, 3)


# --------------------------------------------------------------------------- validators


def positive(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def non_negative(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def fraction(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be in [0, 1], got {value!r}")


def at_least(lo: float) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
        if not value >= lo:
            raise ValueError(f"{attribute.name} must be >= {lo}, got {value!r}")
    return check


# --------------------------------------------------------------------------- thresholds


@attrs.frozen
class Threshold:
    """One threshold as applied to one candidate.

    ``at_most``: the observed value must be <= ``required`` (a time limit, a
    ratio cap); otherwise it must be >= ``required``.
    """

    name: str
    value: float
    required: float
    at_most: bool = False
    #: False for sanity checks (e.g. "the bait was rarely filled") whose
    #: margin says nothing about how strong the case is: kept out of confidence.
    calibrates: bool = True

    @property
    def passed(self) -> bool:
        return self.value <= self.required if self.at_most else self.value >= self.required

    @property
    def margin(self) -> float:
        return calibration.margin(self.value, self.required, at_most=self.at_most)

    @property
    def closeness(self) -> float:
        """How close to passing, in [0, 1]; 1.0 when passed."""
        return min(1.0, self.margin) if not self.passed else 1.0


@attrs.frozen
class Verdict:
    passed: bool
    stopper: Threshold | None  #: the failed threshold furthest from passing
    closeness: float  #: the stopper's closeness (1.0 when passed)
    thresholds: tuple[Threshold, ...]

    @property
    def margins(self) -> list[float]:
        return [t.margin for t in self.thresholds if t.calibrates]

    @property
    def failed(self) -> list[str]:
        return [t.name for t in self.thresholds if not t.passed]


def evaluate(thresholds: Sequence[Threshold]) -> Verdict:
    stopper: Threshold | None = None
    for t in thresholds:
        if not t.passed and (stopper is None or t.closeness < stopper.closeness):
            stopper = t
    return Verdict(stopper is None, stopper, 1.0 if stopper is None else stopper.closeness,
                   tuple(thresholds))


def thresholds_evidence(verdict: Verdict) -> dict[str, dict[str, float]]:
    """The thresholds a finding passed, with observed value and margin, for the evidence."""
    return {t.name: {"value": r6(t.value), "required": r6(t.required), "margin": r6(t.margin)}
            for t in verdict.thresholds}


# --------------------------------------------------------------------------- near-misses


class NearMisses:
    """The ``capacity`` closest candidates that did not fire, best first.

    Each entry: ``ts``, ``market_id``, ``actor_id``, ``threshold`` (the one
    that stopped it), ``value`` (observed), ``required``, ``closeness`` (0..1),
    ``failed`` (every threshold it missed) and ``detail`` (ids and numbers of
    the candidate). Candidates less close than ``floor`` are not kept: they
    are ordinary activity, not near-misses.
    """

    def __init__(self, capacity: int = 20, floor: float = 0.3) -> None:
        self.capacity = capacity
        self.floor = floor
        self._items: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def offer(self, verdict: Verdict, *, ts: int, market_id: str, actor_id: str | None,
              detail: dict[str, Any] | None = None, candidate: Any = None) -> None:
        """Keep the candidate if it is among the closest. ``candidate``: an identity
        (e.g. a cluster of wallets) judged repeatedly; only its closest miss is kept."""
        stop = verdict.stopper
        if stop is None or verdict.closeness < self.floor or self.capacity <= 0:
            return
        entry = {
            "ts": ts, "market_id": market_id, "actor_id": actor_id,
            "threshold": stop.name, "value": r6(stop.value), "required": r6(stop.required),
            "closeness": round(verdict.closeness, 4), "failed": verdict.failed,
            "detail": dict(detail or {}),
        }
        closeness = round(verdict.closeness, 4)
        entry["closeness"] = closeness
        key = (-closeness, ts, market_id, actor_id or "", stop.name)
        items = self._items
        if candidate is not None:
            entry["candidate"] = candidate
            for i, (k, e) in enumerate(items):
                if e.get("candidate") == candidate:
                    if key < k:
                        items[i] = (key, entry)
                    return
        if len(items) >= self.capacity:
            worst = max(range(len(items)), key=lambda i: items[i][0])
            if key >= items[worst][0]:
                return
            items.pop(worst)
        items.append((key, entry))

    def items(self) -> list[dict[str, Any]]:
        return [e for _, e in sorted(self._items, key=lambda kv: kv[0])]

    def __len__(self) -> int:
        return len(self._items)


# --------------------------------------------------------------------------- findings


def make_finding(
    detector: str, category: str, event: MarketEvent, *, actor_id: str | None,
    verdict: Verdict, message: str, citation: str, evidence: dict[str, Any],
    anonymous: bool = False, severity_floor: str = "low", severity_cap: str = "critical",
) -> AnomalyFinding:
    """A finding with confidence and severity calibrated from the verdict's margins."""
    conf = calibration.confidence(verdict.margins, anonymous=anonymous)
    ev = dict(evidence)
    ev["anonymous"] = anonymous
    ev["thresholds"] = thresholds_evidence(verdict)
    return AnomalyFinding(
        detector=detector, category=category,
        severity=calibration.severity(conf, floor=severity_floor, cap=severity_cap),
        confidence=conf,
        venue=event.venue, market_id=event.market_id, actor_id=actor_id, ts=event.ts,
        message=message, citation=citation, evidence=ev,
    )


def sorted_ids(ids: Iterable[str | None], limit: int = 50) -> list[str]:
    """Distinct ids, sorted, at most ``limit`` (evidence stays bounded)."""
    return sorted({i for i in ids if i is not None})[:limit]
