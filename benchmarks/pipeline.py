"""The measured pipeline: the built-in plugins, a SQLite flow store and audit log.

Only the distributions a default install ships are enabled (core, built-in
detectors and profiler, SQLite store), so other plugins installed in the same
environment (venues, alert routes, examples) do not change the figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from horizon_flow_core.config import FlowConfig
from horizon_flow_core.config.model import PluginsConfig

DEFAULT_PLUGINS = ("horizon-flow", "horizon-flow-detectors-builtin", "horizon-flow-store-sqlite")


def bench_config(**changes: Any) -> FlowConfig:
    """The default config with only the default plugins enabled (``changes``: attrs.evolve)."""
    cfg = FlowConfig(plugins=PluginsConfig(enable=list(DEFAULT_PLUGINS)))
    return attrs.evolve(cfg, **changes) if changes else cfg


def plugin_manager(config: FlowConfig) -> Any:
    from horizon_flow_core.plugin_manager import get_plugin_manager

    return get_plugin_manager(config.plugins)


def scan(feed: Path, workdir: Path, *, config: FlowConfig | None = None) -> Any:
    """``run_scan`` of ``feed`` into fresh SQLite files under ``workdir``; the ScanSummary."""
    from horizon_flow_core.runner import run_scan

    config = config or bench_config()
    workdir.mkdir(parents=True, exist_ok=True)
    db, audit = workdir / "flow.db", workdir / "audit.db"
    for p in workdir.iterdir():
        if p.name.startswith(("flow.db", "audit.db")) or p.name.endswith(".rejects.jsonl"):
            p.unlink()
    return run_scan(feed, config=config, pm=plugin_manager(config), db=str(db),
                    audit_db=str(audit))


def build_engine(config: FlowConfig | None = None, *, store: Any = None, audit: Any = None
                 ) -> Any:
    """An engine with every default detector and the profiler (no alert routes)."""
    from horizon_flow_core.engine.builder import build_engine as _build

    config = config or bench_config()
    return _build(config, plugin_manager(config), store=store, audit=audit, alerts=False)
