"""The hash-chained audit log: the authority on what the system knew and when."""

from .chain import (
    GENESIS_HASH,
    AuditCategory,
    AuditLog,
    AuditRecord,
    ChainProblem,
    MemoryAuditSink,
    record_hash,
    verify_chain,
)

__all__ = [
    "GENESIS_HASH", "AuditCategory", "AuditLog", "AuditRecord", "ChainProblem",
    "MemoryAuditSink", "record_hash", "verify_chain",
]
