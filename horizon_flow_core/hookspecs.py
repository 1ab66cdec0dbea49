"""Every hook horizon-flow defines. Plugins implement them with ``@hookimpl``.

Hooks come in two groups:

* **Registration hooks** (``flow_detectors``, ``flow_profilers``,
  ``flow_venues``, ``flow_stores``, ``flow_alert_routers``,
  ``flow_config_sections``, ``flow_commands``) run once at start-up. Each
  returns typed records from :mod:`horizon_flow_core.specs`; the plugin
  manager calls each plugin's implementation separately, so one plugin that
  raises is recorded as failed and the others still register.
* **Lifecycle hooks** (``flow_startup``, ``flow_shutdown``,
  ``flow_component_error``) run at start, at stop and when a component raises.

The per-event hot path never goes through a hook: the engine calls the
components these hooks registered directly.

A plugin in 20 lines::

    from horizon_flow_core import hookimpl, DetectorSpec, AnomalyFinding

    class BigCancel:
        name = "big_cancel"
        kinds = frozenset({"order.canceled"})

        def on_event(self, ev, ctx):
            if (ev.size or 0) > 10_000:
                return [AnomalyFinding.make(
                    detector=self.name, category="big_cancel", severity="medium",
                    confidence=0.6, market_id=ev.market_id, actor_id=ev.actor_id,
                    message=f"cancelled {ev.size}", citation="house rule 7",
                    evidence={"size": ev.size, "order_id": ev.order_id})]
            return None

    @hookimpl
    def flow_detectors():
        return [DetectorSpec(name="big_cancel", factory=lambda cfg: BigCancel())]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

    from .components import Runtime
    from .events import MarketEvent
    from .specs import (
        AlertRouterSpec,
        ConfigSection,
        DetectorSpec,
        ProfilerSpec,
        StoreSpec,
        VenueSpec,
    )

PROJECT_NAME = "horizon_flow"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def flow_detectors() -> Iterable[DetectorSpec]:
    """Register detectors.

    Called once when the plugin manager collects components. Return
    :class:`~horizon_flow_core.specs.DetectorSpec` records; each names the
    detector, its factory and its config class (the ``[detectors.<name>]``
    section). Names must be unique across all installed plugins.

    Example::

        @hookimpl
        def flow_detectors():
            return [DetectorSpec(name="spoofing", factory=SpoofingDetector,
                                 config_class=SpoofingConfig)]
    """


@hookspec
def flow_profilers() -> Iterable[ProfilerSpec]:
    """Register actor profilers (feature extraction plus taxonomy).

    Called once at start-up. Return
    :class:`~horizon_flow_core.specs.ProfilerSpec` records; the factory
    receives the effective :class:`~horizon_flow_core.config.FlowConfig`
    (the core's ``[actors]`` section is ``config.actors``).

    Example::

        @hookimpl
        def flow_profilers():
            return [ProfilerSpec(name="kirilenko", factory=KirilenkoProfiler)]
    """


@hookspec
def flow_venues() -> Iterable[VenueSpec]:
    """Register venues: frame normalizers and live sources.

    Called once at start-up. Return :class:`~horizon_flow_core.specs.VenueSpec`
    records; ``flow scan --venue NAME`` uses the normalizer, ``flow run`` and
    ``flow record`` the live source. The ``[venues.<name>]`` section is
    structured into ``config_class``.

    Example::

        @hookimpl
        def flow_venues():
            return [VenueSpec(name="hyperliquid", make_normalizer=HyperliquidNormalizer,
                              config_class=HyperliquidConfig,
                              make_live_source=HyperliquidSource)]
    """


@hookspec
def flow_stores() -> Iterable[StoreSpec]:
    """Register store backends by URL scheme.

    Called once at start-up. Return :class:`~horizon_flow_core.specs.StoreSpec`
    records. A store URL such as ``sqlite:///data/flow.db`` is opened by the
    backend that lists ``sqlite`` in its schemes; a bare path by the one that
    sets ``bare_paths``.

    Example::

        @hookimpl
        def flow_stores():
            return [StoreSpec(name="sqlite", schemes=("sqlite",), bare_paths=True,
                              open_flow_store=SQLiteFlowStore,
                              open_audit_sink=SQLiteAuditSink)]
    """


@hookspec
def flow_alert_routers() -> Iterable[AlertRouterSpec]:
    """Register alert routers, which deliver findings to people on call.

    Called once at start-up. Return
    :class:`~horizon_flow_core.specs.AlertRouterSpec` records; the factory
    gets the :class:`~horizon_flow_core.components.Runtime` and returns an
    :class:`~horizon_flow_core.components.AlertSink`, or ``None`` when the
    config configures no route for it.

    Example::

        @hookimpl
        def flow_alert_routers():
            return [AlertRouterSpec(name="apprise", factory=AppriseRouter.from_runtime)]
    """


@hookspec
def flow_config_sections() -> Iterable[ConfigSection]:
    """Register config sections a plugin owns, beyond its detectors' and venues'.

    Called once when config is loaded. Return
    :class:`~horizon_flow_core.specs.ConfigSection` records, each a dotted
    path (``*`` matches one key) and an attrs class that cattrs structures the
    table into. Unknown keys and wrong types in these sections are errors
    naming the file and key, as for the core's own sections.

    Example::

        @hookimpl
        def flow_config_sections():
            return [ConfigSection("alerts.routes.*", RouteConfig)]
    """


@hookspec
def flow_commands(app: typer.Typer) -> None:
    """Add commands to the ``flow`` command line.

    Called once when the CLI starts, with the root :class:`typer.Typer` app.
    A plugin whose implementation raises is marked failed; the CLI still runs.

    Example::

        @hookimpl
        def flow_commands(app):
            @app.command("hello")
            def hello() -> None:
                print("hello from my plugin")
    """


@hookspec
def flow_startup(runtime: Runtime) -> None:
    """Called once after the engine, stores and routes are built, before the first event.

    ``runtime`` gives the effective config, the audit log, the store and the
    metrics registry. Use it to open connections a plugin needs.

    Example::

        @hookimpl
        def flow_startup(runtime):
            runtime.metrics.gauge("my_plugin_ready").set(1)
    """


@hookspec
def flow_shutdown(runtime: Runtime) -> None:
    """Called once at shutdown, after sources are drained and stores flushed.

    Example::

        @hookimpl
        def flow_shutdown(runtime):
            my_connection.close()
    """


@hookspec
def flow_component_error(component: str, plugin: str, error: BaseException,
                         event: MarketEvent | None, quarantined: bool) -> None:
    """Called when a component raised while handling an event.

    ``component`` is the component's name, ``plugin`` the distribution that
    registered it, ``event`` the event being handled (or None outside
    ingest), ``quarantined`` whether this failure put it in quarantine. The
    error is already logged, counted and audited; this hook is for extra
    reporting and must not raise.

    Example::

        @hookimpl
        def flow_component_error(component, plugin, error, event, quarantined):
            if quarantined:
                pager.send(f"{component} from {plugin} quarantined: {error}")
    """
