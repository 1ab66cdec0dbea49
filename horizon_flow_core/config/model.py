"""The typed configuration: the core's own sections.

Plugin sections (``[detectors.<name>]``, ``[venues.<name>]`` and any
``ConfigSection`` a plugin registers) are structured into the plugin's own
attrs classes by :mod:`horizon_flow_core.config.loader` and kept on
:class:`FlowConfig` by name.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..findings import SEVERITY_RANK


# Validator messages name the key: cattrs reports a failing __init__ at the
# table's path, so the field name has to be in the message itself.
def _positive(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value}")


def _non_negative(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


def _at_most_one(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value > 1.0:
        raise ValueError(f"{attribute.name} must be <= 1, got {value}")


def _severity(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if value.lower() not in SEVERITY_RANK:
        raise ValueError(f"{attribute.name} must be one of low, medium, high, critical, "
                         f"got {value!r}")


def _lower(value: str) -> str:
    return value.lower() if isinstance(value, str) else value


@attrs.frozen
class WindowsConfig:
    """Shared time windows detectors may use (seconds)."""

    short_s: float = attrs.field(default=5.0, validator=_positive)
    medium_s: float = attrs.field(default=60.0, validator=_positive)
    long_s: float = attrs.field(default=3600.0, validator=_positive)


@attrs.frozen
class ActorsConfig:
    """Actor profiling cadence and memory bounds."""

    #: below this many events an actor gets the uniform taxonomy prior
    profile_min_events: int = attrs.field(default=30, validator=_non_negative)
    #: a profile snapshot is flushed (stored, audited) every this many events of an actor
    profile_refresh_event_interval: int = attrs.field(default=50, validator=_positive)
    #: actors with no event for this long (event time) are evicted from memory
    idle_evict_s: float = attrs.field(default=6 * 3600.0, validator=_positive)
    #: hard cap on actors held in memory (least recently active evicted first)
    max_actors: int = attrs.field(default=1_000_000, validator=_positive)


@attrs.frozen
class EngineConfig:
    """Engine behaviour: error isolation and housekeeping."""

    #: a component failing this many times ...
    quarantine_after: int = attrs.field(default=5, validator=_positive)
    #: ... within this many ingested events is quarantined (disabled, audited)
    quarantine_window_events: int = attrs.field(default=1000, validator=_positive)
    #: re-raise component errors instead of isolating them (plugin development)
    strict: bool = False
    #: sweep idle markets/actors every this many events
    evict_every_events: int = attrs.field(default=50_000, validator=_positive)
    #: markets with no event for this long (event time) are dropped from memory
    market_idle_evict_s: float = attrs.field(default=24 * 3600.0, validator=_positive)
    #: stop ingesting when the audit log cannot be written (the authority must not
    #: fall silent); false keeps going and only logs each failure
    stop_on_audit_error: bool = True


@attrs.frozen
class StoresConfig:
    """Where findings and the audit log go (a path or a URL such as ``sqlite:///x.db``).

    Backend tuning goes in the URL, where the backend reads it, e.g.
    ``sqlite:///data/flow.db?batch_size=2000&synchronous=full``.
    """

    flow: str = "data/flow.db"
    audit: str = "data/audit.db"


@attrs.frozen
class AlertsConfig:
    """Global alert settings; ``[alerts.routes.<name>]`` tables belong to alert plugins."""

    severity_floor: str = attrs.field(default="high", converter=_lower, validator=_severity)
    confidence_floor: float = attrs.field(default=0.0, validator=[_non_negative, _at_most_one])


@attrs.frozen
class PluginsConfig:
    """Which plugins load and the order components run in."""

    #: allow-list of distributions, entry points or component names (empty = all)
    enable: list[str] = attrs.field(factory=list)
    #: deny-list of distributions, entry points or component names
    disable: list[str] = attrs.field(factory=list)
    #: components (detectors, routers) named here run first, in this order
    order: list[str] = attrs.field(factory=list)


@attrs.frozen
class FlowConfig:
    """The effective configuration. Build with :func:`~horizon_flow_core.config.load_config`."""

    seed: int = 42
    max_trades_per_market: int = attrs.field(default=2000, validator=_positive)
    max_book_snapshots_per_market: int = attrs.field(default=100, validator=_positive)
    max_orders_per_market: int = attrs.field(default=2000, validator=_positive)
    windows: WindowsConfig = attrs.field(factory=WindowsConfig)
    actors: ActorsConfig = attrs.field(factory=ActorsConfig)
    engine: EngineConfig = attrs.field(factory=EngineConfig)
    stores: StoresConfig = attrs.field(factory=StoresConfig)
    alerts: AlertsConfig = attrs.field(factory=AlertsConfig)
    plugins: PluginsConfig = attrs.field(factory=PluginsConfig)
    #: ``[detectors.<name>]`` structured into each detector's config class
    detectors: dict[str, Any] = attrs.field(factory=dict)
    #: ``[detectors.<name>.markets."<market_id>"]``: detector -> market -> that
    #: market's full config (the detector's section with the market's overrides)
    detector_markets: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    #: ``[venues.<name>]`` structured into each venue's config class
    venues: dict[str, Any] = attrs.field(factory=dict)
    #: other plugin sections by concrete dotted path (``alerts.routes.desk``)
    sections: dict[str, Any] = attrs.field(factory=dict)
    #: the file this was loaded from (not part of the config's hash)
    source: str | None = attrs.field(default=None, eq=False)

    @classmethod
    def default(cls) -> FlowConfig:
        return cls()

    def detector_config(self, name: str) -> Any:
        return self.detectors.get(name)

    def detector_market_configs(self, name: str) -> dict[str, Any]:
        """Market id -> config, for the markets that override detector ``name``."""
        return self.detector_markets.get(name, {})

    def venue_config(self, name: str) -> Any:
        return self.venues.get(name)

    def section(self, path: str) -> Any:
        """A plugin section by dotted path; for a wildcard parent, ``{key: instance}``."""
        if path in self.sections:
            return self.sections[path]
        prefix = path + "."
        found = {k[len(prefix):]: val for k, val in self.sections.items()
                 if k.startswith(prefix) and "." not in k[len(prefix):]}
        return dict(sorted(found.items()))
