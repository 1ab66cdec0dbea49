"""Build an engine from the installed plugins and a config.

Each component factory runs under its own try: a factory that raises leaves
that component out (recorded on the plugin's listing and logged) and the
engine is built with the others.
"""

from __future__ import annotations

import logging
from typing import Any

from ..audit.chain import AuditLog
from ..components import Runtime
from ..config.model import FlowConfig
from ..plugin_manager import PluginManager, get_plugin_manager
from .engine import FlowEngine
from .per_market import make_detector

log = logging.getLogger("horizon_flow.engine")


def _factory_failed(pm: PluginManager, plugin: str, kind: str, name: str,
                    exc: BaseException) -> None:
    msg = f"{kind} {name!r} could not be built: {type(exc).__name__}: {exc}"
    log.warning("plugin %s: %s", plugin, msg)
    for rec in pm.records.values():
        if rec.distribution == plugin and rec.status == "active":
            rec.error = msg
    if pm.strict:
        raise exc


def build_engine(config: FlowConfig | None = None, pm: PluginManager | None = None, *,
                 store: Any = None, audit: AuditLog | None = None, venue: str | None = None,
                 runtime: Runtime | None = None, alerts: bool = True,
                 detectors: list[str] | None = None) -> FlowEngine:
    """An engine with every installed (and enabled) detector, profiler and alert router.

    ``detectors`` restricts to the named detectors (``flow explain``).
    """
    config = config if config is not None else FlowConfig()
    pm = pm if pm is not None else get_plugin_manager(config.plugins)
    engine = FlowEngine(config, store=store, audit=audit, venue=venue, plugin_manager=pm)
    if store is not None:
        engine.set_store(store, plugin=type(store).__module__.split(".")[0])
    for spec in pm.detector_specs():
        if detectors is not None and spec.name not in detectors:
            continue
        try:
            det = make_detector(spec.factory, config.detector_config(spec.name),
                                config.detector_market_configs(spec.name))
            engine.add_detector(det, plugin=spec.plugin)
        except Exception as exc:
            _factory_failed(pm, spec.plugin, "detector", spec.name, exc)
    for pspec in pm.profiler_specs():
        try:
            engine.add_profiler(pspec.factory(config), plugin=pspec.plugin)
        except Exception as exc:
            _factory_failed(pm, pspec.plugin, "profiler", pspec.name, exc)
    if alerts:
        rt = runtime or Runtime(config=config, audit=audit, store=store)
        for aspec in pm.alert_router_specs():
            try:
                sink = aspec.factory(rt)
            except Exception as exc:
                _factory_failed(pm, aspec.plugin, "alert router", aspec.name, exc)
                continue
            if sink is not None:
                engine.add_alert_sink(sink, plugin=aspec.plugin)
    return engine
