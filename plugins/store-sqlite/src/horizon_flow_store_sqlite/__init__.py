"""horizon-flow-store-sqlite: the embedded flow store and audit sink on SQLite.

Public API (what the ``flow`` CLI verbs call):

* :class:`SQLiteFlowStore`, :class:`SQLiteAuditSink`: the stores (``FlowStore``,
  ``DeadLetterStore``, ``AuditSink``);
* :func:`verify_store` (``flow verify``), :func:`verify_audit` (``flow audit verify``),
  :func:`backup_store` (``flow backup``), :func:`rebuild_from_audit` (``flow rebuild``),
  :func:`diff_findings` (``flow diff``), :func:`actor_report` (``flow profile``),
  :func:`findings_digest` (``flow replay``), :func:`open_flow_store`.
"""

from .audit_sink import AuditVerifyReport, SQLiteAuditSink, verify_audit
from .backup import backup_store
from .diff import FindingsDiff, diff_findings
from .flow_store import DIRECT_RUN_ID, FlushStats, SQLiteFlowStore
from .lookup import ActorReport, actor_report, findings_digest, open_flow_store
from .options import SQLiteOptions
from .rebuild import RebuildReport, rebuild_from_audit
from .records import ClusterRecord, PolicyRecord
from .urls import StoreLocation, parse_store_url
from .verify import verify_store

__all__ = [
    "DIRECT_RUN_ID", "ActorReport", "AuditVerifyReport", "ClusterRecord", "FindingsDiff",
    "FlushStats", "PolicyRecord", "RebuildReport", "SQLiteAuditSink", "SQLiteFlowStore",
    "SQLiteOptions", "StoreLocation", "actor_report", "backup_store", "diff_findings",
    "findings_digest", "open_flow_store", "parse_store_url", "rebuild_from_audit",
    "verify_audit", "verify_store",
]
