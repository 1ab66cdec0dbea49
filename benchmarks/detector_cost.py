"""Each detector's own cost per event, so a slow plugin is visible.

Every detector (and the profiler) runs alone in an engine over the same
pre-parsed event list; its cost is that engine's CPU time minus the CPU time
of an engine with no components over the same events (the core's own work:
dispatch, per-market state, the live book). Best of ``repeat`` runs each.
Parsing is outside the timed region, so the figures are the components'
alone. ``us_per_call`` divides by the events of the kinds the component
asked for (the events it was actually handed). ``together_us_per_event`` is
all of them in one engine, minus the core: more than the sum of the parts,
since together their state no longer fits the CPU's caches.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from horizon_flow_core.engine import FlowEngine
from horizon_flow_core.events import KINDS, MarketEvent


def _cpu_run(make_engine: Callable[[], FlowEngine], events: Sequence[MarketEvent],
             repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        engine = make_engine()
        ingest = engine.ingest
        gc.collect()
        t0 = time.process_time()
        for ev in events:
            ingest(ev)
        best = min(best, time.process_time() - t0)
        del engine
    return best


def detector_costs(events: Sequence[MarketEvent], config: Any, pm: Any, *,
                   repeat: int = 3) -> dict[str, Any]:
    """``{"core_us_per_event", "components": [{name, kind, us_per_event, us_per_call, calls}]}``."""
    n = len(events)
    by_kind = Counter(ev.kind for ev in events)
    cores: list[float] = []

    def core_now() -> float:
        # the baseline is measured again beside each component and its best
        # kept: a busy moment then inflates neither side of the difference
        cores.append(_cpu_run(lambda: FlowEngine(config), events, 1))
        return min(cores)

    core = core_now()
    rows = []
    for spec in pm.detector_specs():
        det_cfg = config.detector_config(spec.name)

        def make(spec: Any = spec, det_cfg: Any = det_cfg) -> FlowEngine:
            return FlowEngine(config, detectors=[spec.factory(det_cfg)])

        kinds = getattr(spec.factory(det_cfg), "kinds", None) or KINDS
        calls = sum(by_kind[k] for k in kinds)
        cost = _cpu_run(make, events, repeat)
        rows.append(_row(spec.name, "detector", cost - core_now(), n, calls))
    for pspec in pm.profiler_specs():
        def make_p(pspec: Any = pspec) -> FlowEngine:
            return FlowEngine(config, profilers=[pspec.factory(config.actors)])

        kinds = getattr(pspec.factory(config.actors), "kinds", None) or KINDS
        calls = sum(1 for ev in events if ev.actor_id is not None and ev.kind in kinds)
        cost = _cpu_run(make_p, events, repeat)
        rows.append(_row(pspec.name, "profiler", cost - core_now(), n, calls))
    rows.sort(key=lambda r: -r["us_per_event"])
    def make_all() -> FlowEngine:
        engine = FlowEngine(config)
        for spec in pm.detector_specs():
            engine.add_detector(spec.factory(config.detector_config(spec.name)))
        for pspec in pm.profiler_specs():
            engine.add_profiler(pspec.factory(config.actors))
        return engine

    together = _cpu_run(make_all, events, repeat) - core_now()
    core = min(cores)
    return {"events": n, "repeat": repeat, "core_us_per_event": round(core / n * 1e6, 3),
            "components": rows,
            "components_us_per_event": round(sum(r["us_per_event"] for r in rows), 3),
            # all of them in one engine: more state, so more cache misses than the sum
            "together_us_per_event": round(max(together, 0.0) / n * 1e6, 3)}


def _row(name: str, kind: str, seconds: float, n: int, calls: int) -> dict[str, Any]:
    seconds = max(seconds, 0.0)
    return {"name": name, "kind": kind, "us_per_event": round(seconds / n * 1e6, 3),
            "calls": calls, "us_per_call": round(seconds / calls * 1e6, 3) if calls else None}
