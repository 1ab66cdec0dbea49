"""Entry point ``builtin-profiler``: registers the Kirilenko actor profiler."""

from __future__ import annotations

from horizon_flow_core.hookspecs import hookimpl
from horizon_flow_core.specs import ProfilerSpec

from .profiler import KirilenkoProfiler

HORIZON_FLOW_PLUGIN_API = 1


@hookimpl
def flow_profilers() -> list[ProfilerSpec]:
    return [ProfilerSpec(
        name="kirilenko", factory=KirilenkoProfiler,
        description="per-actor features and Kirilenko-Kyle-Samadi-Tuzun taxonomy probabilities",
    )]
