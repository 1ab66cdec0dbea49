"""horizon-flow core: event schema, config, engine loop, hookspecs, plugin manager, audit chain.

The public API plugin authors write against is what this module exports.
Heavier pieces (the engine, config loading, the plugin manager) are imported
on first use, so ``import horizon_flow_core`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .components import (
    AlertSink,
    AuditSink,
    Detector,
    DetectorContext,
    FindingQuery,
    FlowStore,
    FrameNormalizer,
    LiveSource,
    Profiler,
    RunCounts,
    RunInfo,
    Runtime,
    SourceContext,
)
from .errors import (
    AuditChainError,
    ConfigError,
    FeedError,
    FlowError,
    FrameError,
    PluginError,
    StoreError,
)
from .events import (
    BUY,
    KINDS,
    SELL,
    EventKind,
    MarketEvent,
    MarketEventKind,
    event_from_dict,
    event_to_dict,
    make_event,
)
from .findings import (
    AnomalyCategory,
    AnomalyFinding,
    AnomalySeverity,
    Category,
    Severity,
    parse_severity,
    severity_at_least,
)
from .hookspecs import hookimpl, hookspec
from .profiles import TAXONOMY_CLASSES, ActorProfile, TaxonomyClass, uniform_prior
from .specs import (
    AlertRouterSpec,
    ConfigSection,
    DetectorSpec,
    ProfilerSpec,
    StoreSpec,
    VenueSpec,
)
from .version import PLUGIN_API_VERSION, SUPPORTED_PLUGIN_API_VERSIONS, __version__

if TYPE_CHECKING:
    from .config import FlowConfig
    from .engine import FlowEngine

_LAZY = {
    "FlowEngine": ("horizon_flow_core.engine", "FlowEngine"),
    "FlowConfig": ("horizon_flow_core.config", "FlowConfig"),
    "load_config": ("horizon_flow_core.config", "load_config"),
    "AuditLog": ("horizon_flow_core.audit", "AuditLog"),
    "AuditRecord": ("horizon_flow_core.audit", "AuditRecord"),
    "AuditCategory": ("horizon_flow_core.audit", "AuditCategory"),
    "PluginManager": ("horizon_flow_core.plugin_manager", "PluginManager"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'horizon_flow_core' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(target[0]), target[1])


__all__ = [
    "BUY", "KINDS", "PLUGIN_API_VERSION", "SELL", "SUPPORTED_PLUGIN_API_VERSIONS",
    "TAXONOMY_CLASSES",
    "ActorProfile", "AlertRouterSpec", "AlertSink", "AnomalyCategory", "AnomalyFinding",
    "AnomalySeverity", "AuditChainError", "AuditSink", "Category", "ConfigError", "ConfigSection",
    "Detector", "DetectorContext", "DetectorSpec", "EventKind", "FeedError", "FindingQuery",
    "FlowConfig", "FlowEngine", "FlowError", "FlowStore", "FrameError", "FrameNormalizer",
    "LiveSource", "MarketEvent", "MarketEventKind", "PluginError", "Profiler", "ProfilerSpec",
    "RunCounts", "RunInfo", "Runtime", "Severity", "SourceContext", "StoreError", "StoreSpec",
    "TaxonomyClass", "VenueSpec", "__version__", "event_from_dict", "event_to_dict", "hookimpl",
    "hookspec", "make_event", "parse_severity", "severity_at_least", "uniform_prior",
]
