"""Entry point of horizon-flow-store-sqlite: registers the ``sqlite`` store backend."""

from __future__ import annotations

from horizon_flow_core.hookspecs import hookimpl
from horizon_flow_core.specs import StoreSpec

from .audit_sink import SQLiteAuditSink
from .flow_store import SQLiteFlowStore

HORIZON_FLOW_PLUGIN_API = 1


def open_flow_store(url: str) -> SQLiteFlowStore:
    return SQLiteFlowStore(url)


def open_audit_sink(url: str) -> SQLiteAuditSink:
    return SQLiteAuditSink(url)


def open_flow_store_read_only(url: str) -> SQLiteFlowStore:
    return SQLiteFlowStore(url, read_only=True)


def open_audit_sink_read_only(url: str) -> SQLiteAuditSink:
    return SQLiteAuditSink(url, read_only=True)


@hookimpl
def flow_stores() -> list[StoreSpec]:
    return [StoreSpec(
        name="sqlite", schemes=("sqlite",), bare_paths=True,
        open_flow_store=open_flow_store, open_audit_sink=open_audit_sink,
        open_flow_store_read_only=open_flow_store_read_only,
        open_audit_sink_read_only=open_audit_sink_read_only,
        description="embedded SQLite: WORM findings, profiles, runs; hash-chained audit log")]
