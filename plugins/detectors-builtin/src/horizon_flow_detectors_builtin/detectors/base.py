"""What every built-in detector has in common: identity, near-misses, defaults."""

from __future__ import annotations

from typing import Any, ClassVar

from horizon_flow_core.findings import AnomalyFinding

from ..common import NearMisses


class DetectorBase:
    """Base of the built-ins. Subclasses set the class attributes and ``kinds``."""

    name: ClassVar[str]
    category: ClassVar[str]
    citation: ClassVar[str]
    kinds: frozenset[str]

    def __init__(self, config: Any) -> None:
        self.config = config
        self._near = NearMisses(capacity=config.near_miss_capacity)

    def near_misses(self) -> list[dict[str, Any]]:
        """The closest candidates that did not fire, closest first (for ``flow explain``)."""
        return self._near.items()

    def finish(self, ctx: Any = None) -> list[AnomalyFinding]:
        """Called once when the feed ends; episodes still open are judged here."""
        return []

    def evict_idle(self, before_ts: int) -> None:
        """Drop state of actors and markets untouched since ``before_ts``."""
