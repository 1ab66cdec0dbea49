"""Scoring findings against the planted ground truth: recall and precision per category.

A finding *catches* an episode when it has the episode's category and
market and either names one of the episode's actors (abusers are fresh
actors, unique to their episode) or, for an anonymous finding, falls within
``slack_s`` of the episode's time span. Findings that catch nothing are
false findings: ``ordinary`` when their actor is an ordinary participant
(or anonymous), ``cross`` when they name an abuser of an episode of another
category (a layering episode also read as spoofing, say).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ..findings import AnomalyFinding
from .episodes import CATEGORIES
from .model import Episode

NS = 1_000_000_000


@attrs.frozen
class EpisodeMatch:
    episode: Episode
    finding_ids: tuple[str, ...]

    @property
    def caught(self) -> bool:
        return bool(self.finding_ids)


@attrs.frozen
class CategoryScore:
    category: str
    planted: int
    caught: int
    findings: int
    true_findings: int
    false_ordinary: int
    false_cross: int

    @property
    def recall(self) -> float | None:
        return self.caught / self.planted if self.planted else None

    @property
    def precision(self) -> float | None:
        return self.true_findings / self.findings if self.findings else None

    def to_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["recall"] = self.recall
        d["precision"] = self.precision
        return d


@attrs.frozen
class Score:
    categories: dict[str, CategoryScore]
    matches: list[EpisodeMatch]
    false_findings: list[AnomalyFinding]

    @property
    def missed(self) -> list[Episode]:
        return [m.episode for m in self.matches if not m.caught]

    def to_dict(self) -> dict[str, Any]:
        return {
            "categories": {c: s.to_dict() for c, s in self.categories.items()},
            "episodes": [{**m.episode.to_dict(), "caught_by": list(m.finding_ids)}
                         for m in self.matches],
            "false_findings": [{"id": f.id, "category": f.category, "market_id": f.market_id,
                                "actor_id": f.actor_id, "ts": f.ts, "message": f.message}
                               for f in self.false_findings],
        }


def _catches(f: AnomalyFinding, e: Episode, slack_ns: int) -> bool:
    if f.category != e.category or f.market_id != e.market_id:
        return False
    if f.actor_id is not None:
        return f.actor_id in e.actor_ids
    return e.start_ts - slack_ns <= f.ts <= e.end_ts + slack_ns


def score_findings(episodes: Sequence[Episode], findings: Iterable[AnomalyFinding], *,
                   slack_s: float = 60.0) -> Score:
    """Match findings to planted episodes; per-category recall, precision and false findings."""
    slack_ns = int(slack_s * NS)
    found = sorted(findings, key=lambda f: (f.ts, f.id))
    abusers: dict[str, str] = {a: e.category for e in episodes for a in e.actor_ids}
    hits: dict[str, list[str]] = {e.episode_id: [] for e in episodes}
    true_ids: set[str] = set()
    for f in found:
        for e in episodes:
            if _catches(f, e, slack_ns):
                hits[e.episode_id].append(f.id)
                true_ids.add(f.id)
    false = [f for f in found if f.id not in true_ids]
    cats = list(CATEGORIES) + sorted({f.category for f in found} - set(CATEGORIES))
    scores = {}
    for c in cats:
        planted = [e for e in episodes if e.category == c]
        mine = [f for f in found if f.category == c]
        wrong = [f for f in mine if f.id not in true_ids]
        cross = [f for f in wrong if f.actor_id is not None and f.actor_id in abusers]
        scores[c] = CategoryScore(
            category=c, planted=len(planted),
            caught=sum(1 for e in planted if hits[e.episode_id]),
            findings=len(mine), true_findings=len(mine) - len(wrong),
            false_ordinary=len(wrong) - len(cross), false_cross=len(cross))
    matches = [EpisodeMatch(e, tuple(hits[e.episode_id])) for e in episodes]
    return Score(categories=scores, matches=matches, false_findings=false)
