"""Entry point ``builtin-profiler``: registers the Kirilenko actor profiler."""

from __future__ import annotations

from typing import Any

from horizon_flow_core.hookspecs import hookimpl
from horizon_flow_core.specs import ConfigSection, ProfilerSpec

from .profiler import KirilenkoProfiler
from .taxonomy import TaxonomyConfig

HORIZON_FLOW_PLUGIN_API = 1


def make_profiler(config: Any) -> KirilenkoProfiler:
    """From the effective FlowConfig: ``[actors]`` plus ``[actors.taxonomy]`` thresholds."""
    section = getattr(config, "section", None)
    taxonomy = section("actors.taxonomy") if section is not None else None
    return KirilenkoProfiler(getattr(config, "actors", config),
                             taxonomy=taxonomy if isinstance(taxonomy, TaxonomyConfig) else None)


@hookimpl
def flow_profilers() -> list[ProfilerSpec]:
    return [ProfilerSpec(
        name="kirilenko", factory=make_profiler,
        description="per-actor features and Kirilenko-Kyle-Samadi-Tuzun taxonomy probabilities",
    )]


@hookimpl
def flow_config_sections() -> list[ConfigSection]:
    return [ConfigSection("actors.taxonomy", TaxonomyConfig,
                          description="Kirilenko taxonomy thresholds, rescaled to notional")]
