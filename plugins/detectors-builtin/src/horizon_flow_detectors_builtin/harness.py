"""Drive a detector over events without an engine, as the engine would.

Each event is first shown to the context (the engine updates its rolling
state before detectors run), then dispatched to the detector only if its
kind is one the detector asked for; findings get the engine's identity
(``seq`` = 1-based ingest position, ``ts``/``venue`` of the event).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from horizon_flow_core.events import MarketEvent
from horizon_flow_core.findings import AnomalyFinding

from .context import StandaloneContext


def drive(detector: Any, events: Iterable[MarketEvent], *, ctx: StandaloneContext | None = None,
          finish: bool = True) -> list[AnomalyFinding]:
    ctx = ctx if ctx is not None else StandaloneContext()
    kinds = getattr(detector, "kinds", None)
    out: list[AnomalyFinding] = []
    last: MarketEvent | None = None
    for ev in events:
        ctx.observe(ev)
        last = ev
        if kinds is not None and ev.kind not in kinds:
            continue
        for f in detector.on_event(ev, ctx) or ():
            out.append(f.with_identity(seq=ctx.ingest_count, ts=ev.ts, venue=ev.venue))
    if finish and hasattr(detector, "finish"):
        for f in detector.finish(ctx) or ():
            ts = last.ts if last is not None else 0
            out.append(f.with_identity(seq=ctx.ingest_count, ts=ts,
                                       venue=last.venue if last is not None else None))
    return out
