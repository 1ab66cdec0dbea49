"""Registration records: what plugins return from the registration hooks.

Each record names a component, says how to build it and which plugin API
version it was written for. The plugin manager fills ``plugin`` (the
distribution that registered it) when it collects the records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .components import (
    AlertSink,
    AuditSink,
    Detector,
    FlowStore,
    FrameNormalizer,
    LiveSource,
    Profiler,
    Runtime,
    SourceContext,
)


def _name(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not value or not all(c.isalnum() or c in "_-." for c in value):
        raise ValueError(f"{type(instance).__name__}.{attribute.name}: "
                         f"bad component name {value!r}")


@attrs.frozen
class DetectorSpec:
    """A detector: ``factory(config)`` builds it from its ``[detectors.<name>]`` config.

    ``config_class`` is an attrs class with defaults for every field (or
    ``None`` for a detector without settings). ``priority`` orders detectors
    not listed in ``[plugins] order`` (lower first, then by name).
    """

    name: str = attrs.field(validator=_name)
    factory: Callable[[Any], Detector]
    config_class: type | None = None
    priority: int = 100
    description: str = ""
    api_version: int = 1
    plugin: str = ""


@attrs.frozen
class ProfilerSpec:
    """An actor profiler: ``factory(config)`` gets the whole effective FlowConfig.

    It reads the core's ``[actors]`` section (``config.actors``) and any
    section of its own it registered (``config.section("actors.taxonomy")``).
    """

    name: str = attrs.field(validator=_name)
    factory: Callable[[Any], Profiler]
    priority: int = 100
    description: str = ""
    api_version: int = 1
    plugin: str = ""


@attrs.frozen
class VenueSpec:
    """A venue: how to normalize its frames and, optionally, how to connect live.

    ``make_normalizer(config)`` and ``make_live_source(config)`` receive the
    structured ``[venues.<name>]`` section (an instance of ``config_class``).
    """

    name: str = attrs.field(validator=_name)
    make_normalizer: Callable[[Any], FrameNormalizer]
    config_class: type | None = None
    make_live_source: Callable[[Any], LiveSource] | None = None
    description: str = ""
    api_version: int = 1
    plugin: str = ""


@attrs.frozen
class StoreSpec:
    """A store backend chosen by URL scheme (``sqlite``, ``postgresql``...).

    ``bare_paths``: this backend also takes plain file paths (the embedded
    default). ``open_flow_store(url)`` / ``open_audit_sink(url)`` open the
    two stores; either may be None when the backend offers only one.
    ``open_flow_store_read_only`` / ``open_audit_sink_read_only`` (optional)
    open them for queries only: no migration, no write, works on read-only
    media; the query verbs (``anomalies``, ``profile``, ``diff``, ``verify``)
    use them when given.
    """

    name: str = attrs.field(validator=_name)
    schemes: tuple[str, ...]
    open_flow_store: Callable[[str], FlowStore] | None = None
    open_audit_sink: Callable[[str], AuditSink] | None = None
    open_flow_store_read_only: Callable[[str], FlowStore] | None = None
    open_audit_sink_read_only: Callable[[str], AuditSink] | None = None
    bare_paths: bool = False
    description: str = ""
    api_version: int = 1
    plugin: str = ""


@attrs.frozen
class AlertRouterSpec:
    """An alert router: ``factory(runtime)`` builds the sink from ``runtime.config``.

    It returns ``None`` when the config asks nothing of it (no routes).
    """

    name: str = attrs.field(validator=_name)
    factory: Callable[[Runtime], AlertSink | None]
    priority: int = 100
    description: str = ""
    api_version: int = 1
    plugin: str = ""


@attrs.frozen
class ConfigSection:
    """A config section a plugin owns, by dotted path; ``*`` matches any one key.

    Example: ``ConfigSection("alerts.routes.*", RouteConfig)`` makes every
    ``[alerts.routes.<name>]`` table structure into a ``RouteConfig``.
    """

    path: str
    config_class: type
    description: str = ""
    api_version: int = 1
    plugin: str = ""


__all__ = [
    "AlertRouterSpec", "ConfigSection", "DetectorSpec", "ProfilerSpec", "SourceContext",
    "StoreSpec", "VenueSpec",
]
