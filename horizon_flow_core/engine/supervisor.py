"""Error isolation: each component call is supervised; repeat offenders are quarantined.

A component that raises is logged, counted, written to the audit log as
``component.error`` and skipped for that event; the engine moves on. After
``quarantine_after`` failures within ``quarantine_window_events`` ingested
events it is quarantined: removed from dispatch, audited as
``component.quarantined``, visible in metrics and ``flow plugins list``.
Windows count events, not seconds, so quarantine is deterministic in replays.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

log = logging.getLogger("horizon_flow.engine")


@attrs.define(eq=False)
class Supervised:
    """A component plus its failure history."""

    name: str
    kind: str  # detector | profiler | store | audit | alert | callback
    plugin: str
    component: Any
    failures: deque[int] = attrs.field(factory=lambda: deque(maxlen=64))
    errors_total: int = 0
    quarantined: bool = False
    last_error: str | None = None


@attrs.define
class ComponentFailure:
    supervised: Supervised
    error: BaseException
    quarantined: bool


class Supervisor:
    def __init__(self, *, quarantine_after: int, window_events: int, strict: bool,
                 on_failure: Callable[[ComponentFailure, Any], None]) -> None:
        self.quarantine_after = quarantine_after
        self.window_events = window_events
        self.strict = strict
        self._on_failure = on_failure
        self.components: list[Supervised] = []

    def add(self, name: str, kind: str, plugin: str, component: Any) -> Supervised:
        sup = Supervised(name=name, kind=kind, plugin=plugin, component=component)
        self.components.append(sup)
        return sup

    def failed(self, sup: Supervised, error: BaseException, seq: int, event: Any) -> bool:
        """Record a failure at ingest ``seq``; returns True when it now is quarantined."""
        if self.strict:
            raise error
        sup.errors_total += 1
        sup.last_error = f"{type(error).__name__}: {error}"
        sup.failures.append(seq)
        recent = sum(1 for s in sup.failures if seq - s < self.window_events)
        newly = not sup.quarantined and recent >= self.quarantine_after
        if newly:
            sup.quarantined = True
        if newly or sup.errors_total <= 3 or sup.errors_total % 1000 == 0:
            log.warning("%s %s (%s) raised on event %s: %s%s", sup.kind, sup.name, sup.plugin,
                        seq, sup.last_error, " -> quarantined" if newly else "")
        self._on_failure(ComponentFailure(sup, error, newly), event)
        return newly

    def status(self) -> list[dict[str, Any]]:
        return [{"name": s.name, "kind": s.kind, "plugin": s.plugin, "errors": s.errors_total,
                 "quarantined": s.quarantined, "last_error": s.last_error}
                for s in self.components]
