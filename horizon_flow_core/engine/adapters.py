"""Adapters that let components written in other styles run on the native engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..components import DetectorContext
from ..events import MarketEvent
from ..findings import AnomalyFinding


class LegacyDetectorAdapter:
    """Runs a detector of the earlier module's form: ``name`` and ``detect(events, ctx)``.

    Such a detector sees every event kind (it declared none) and may yield.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name: str = inner.name
        kinds = getattr(inner, "kinds", None)
        self.kinds: frozenset[str] | None = frozenset(kinds) if kinds else None

    def on_event(self, event: MarketEvent, ctx: DetectorContext) -> list[AnomalyFinding] | None:
        out = self.inner.detect((event,), ctx)
        return list(out) if out is not None else None

    def finish(self, ctx: DetectorContext) -> Sequence[AnomalyFinding]:
        fin = getattr(self.inner, "finish", None)
        return list(fin(ctx) or ()) if fin is not None else []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def as_native_detector(detector: Any) -> Any:
    """The detector itself when it has ``on_event``; an adapter when it has only ``detect``."""
    if callable(getattr(detector, "on_event", None)):
        return detector
    if callable(getattr(detector, "detect", None)) and getattr(detector, "name", None):
        return LegacyDetectorAdapter(detector)
    raise TypeError(f"{detector!r} is not a detector: it needs a name and on_event(event, ctx) "
                    "or detect(events, ctx)")
