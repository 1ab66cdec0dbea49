"""Store protocols live in :mod:`horizon_flow_core.components`; this package opens stores by URL."""

from .resolve import open_audit_sink, open_flow_store, store_scheme

__all__ = ["open_audit_sink", "open_flow_store", "store_scheme"]
