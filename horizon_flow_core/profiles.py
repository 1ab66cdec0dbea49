"""Actor profiles and the Kirilenko taxonomy classes.

The classes are those of Kirilenko, Kyle, Samadi and Tuzun, "The Flash Crash:
High-Frequency Trading in an Electronic Market" (Journal of Finance, 2017).
"""

from __future__ import annotations

import enum
from typing import Any, Final

import attrs


class TaxonomyClass(enum.StrEnum):
    HIGH_FREQUENCY = "high_frequency"
    MARKET_MAKER = "market_maker"
    FUNDAMENTAL_BUYER = "fundamental_buyer"
    FUNDAMENTAL_SELLER = "fundamental_seller"
    OPPORTUNISTIC = "opportunistic"
    SMALL = "small"


TAXONOMY_CLASSES: Final[tuple[str, ...]] = tuple(c.value for c in TaxonomyClass)


def uniform_prior() -> dict[str, float]:
    p = 1.0 / len(TAXONOMY_CLASSES)
    return {c: p for c in TAXONOMY_CLASSES}


@attrs.frozen
class ActorProfile:
    """A snapshot of one actor's features and taxonomy probabilities.

    ``features`` holds the profiler's numbers (placements, cancels, fills,
    cancel ratio, inventory, ...); ``taxonomy`` maps each of
    :data:`TAXONOMY_CLASSES` to a probability, summing to one.
    ``last_updated_seq`` is the engine's ingest sequence at the snapshot, so a
    replay reproduces the profile's evolution.
    """

    venue: str
    actor_id: str
    event_count: int
    features: dict[str, Any]
    taxonomy: dict[str, float]
    last_updated_seq: int
    ts: int

    @property
    def top_class(self) -> str:
        return max(self.taxonomy.items(), key=lambda kv: (kv[1], kv[0]))[0]

    def to_dict(self) -> dict[str, Any]:
        # Spelled out (not attrs.asdict): every profile emitted is audited, and
        # asdict's generic field walk was a tenth of emitting one.
        return {"venue": self.venue, "actor_id": self.actor_id, "event_count": self.event_count,
                "features": self.features, "taxonomy": self.taxonomy,
                "last_updated_seq": self.last_updated_seq, "ts": self.ts}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ActorProfile:
        return cls(**{a.name: d[a.name] for a in attrs.fields(cls)})
