"""The core's own defaults, registered through the same hooks as any plugin.

Only what needs no third-party dependency: the in-memory store (``memory://``),
used by tests and dry runs, and the config sections of the ``flow run``
daemon (``[daemon]``, ``[metrics]``, ``[logging]``). The embedded SQLite
default lives in the ``horizon-flow-store-sqlite`` plugin.
"""

from __future__ import annotations

from .daemon.config import DaemonConfig, LoggingConfig, MetricsConfig
from .hookspecs import hookimpl
from .specs import ConfigSection, StoreSpec
from .stores.memory import MemoryFlowStore, open_memory_audit_sink

HORIZON_FLOW_PLUGIN_API = 1


@hookimpl
def flow_stores() -> list[StoreSpec]:
    return [StoreSpec(name="memory", schemes=("memory",), open_flow_store=MemoryFlowStore,
                      open_audit_sink=open_memory_audit_sink,
                      description="in-memory store (nothing persists); for tests and dry runs")]


@hookimpl
def flow_config_sections() -> list[ConfigSection]:
    return [ConfigSection("daemon", DaemonConfig, description="flow run: venues, data, queues"),
            ConfigSection("logging", LoggingConfig, description="log format, file and levels"),
            ConfigSection("metrics", MetricsConfig,
                          description="Prometheus endpoint (loopback) and textfile")]
