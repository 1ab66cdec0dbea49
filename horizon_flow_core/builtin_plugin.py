"""The core's own defaults, registered through the same hooks as any plugin.

Only what needs no third-party dependency: the in-memory store (``memory://``),
used by tests and dry runs. The embedded SQLite default lives in the
``horizon-flow-store-sqlite`` plugin.
"""

from __future__ import annotations

from .hookspecs import hookimpl
from .specs import StoreSpec
from .stores.memory import MemoryFlowStore, open_memory_audit_sink

HORIZON_FLOW_PLUGIN_API = 1


@hookimpl
def flow_stores() -> list[StoreSpec]:
    return [StoreSpec(name="memory", schemes=("memory",), open_flow_store=MemoryFlowStore,
                      open_audit_sink=open_memory_audit_sink,
                      description="in-memory store (nothing persists); for tests and dry runs")]
