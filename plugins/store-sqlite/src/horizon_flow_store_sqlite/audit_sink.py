"""The SQLite audit sink: durable storage of the hash-chained audit log.

The chain itself (hashing, verification) lives in
:mod:`horizon_flow_core.audit.chain`; this sink stores records. Each
:meth:`SQLiteAuditSink.append` writes its whole batch in one transaction
(:class:`~horizon_flow_core.audit.chain.AuditLog` hands over batches of up to
``batch_size`` records and on flush). The table is WORM: updates, deletes and
replacing inserts are refused by triggers, and appending a sequence number
that is already stored fails, because two writers on one chain would fork it.

``synchronous`` defaults to ``full`` here (each committed batch is on disk
before ``append`` returns): the audit log is the authority the flow store is
rebuilt from, so it gets the stronger guarantee.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from horizon_flow_core.audit.chain import AuditRecord, ChainProblem, verify_chain
from horizon_flow_core.errors import StoreError
from horizon_flow_core.jsonio import loads

from .connection import open_connection
from .errors import store_error
from .options import SQLiteOptions
from .records import canonical_text
from .schema import AUDIT, AUDIT_WORM_MESSAGE, current_version, migrate, stored_versions
from .urls import parse_store_url

_COLS = "seq, ts, category, payload, prev_hash, hash"
_PAGE = 2000


def iter_audit_records(conn: sqlite3.Connection, start_seq: int = 0, *,
                       lock: threading.RLock | None = None, label: str = "audit"
                       ) -> Iterator[AuditRecord]:
    """Records with ``seq >= start_seq`` in sequence order, read a page at a time."""
    after = start_seq - 1
    while True:
        try:
            if lock is not None:
                with lock:
                    rows = conn.execute(f"SELECT {_COLS} FROM audit WHERE seq > ? "
                                        f"ORDER BY seq LIMIT {_PAGE}", (after,)).fetchall()
            else:
                rows = conn.execute(f"SELECT {_COLS} FROM audit WHERE seq > ? "
                                    f"ORDER BY seq LIMIT {_PAGE}", (after,)).fetchall()
        except sqlite3.Error as exc:
            raise store_error(label, "reading audit records", exc) from None
        for seq, ts, category, payload, prev_hash, h in rows:
            yield AuditRecord(seq=seq, ts=ts, category=category, payload=loads(payload),
                              prev_hash=prev_hash, hash=h)
        if len(rows) < _PAGE:
            return
        after = rows[-1][0]


def _payload_text(r: AuditRecord) -> str:
    """The record's canonical payload text: the bytes the chain hashed, when the record
    carries them (records made by ``AuditLog``), else encoded here."""
    encoded: bytes | None = getattr(r, "payload_json", None)
    if encoded is not None:
        return encoded.decode("utf-8")
    return canonical_text(r.payload, f"audit record {r.seq} ({r.category}): payload")


class SQLiteAuditSink:
    """Implements ``AuditSink`` on a SQLite file (may share the flow store's file)."""

    def __init__(self, url_or_path: str | os.PathLike[str], *,
                 options: SQLiteOptions | None = None, read_only: bool = False) -> None:
        self.url = os.fspath(url_or_path)
        base = options or SQLiteOptions(synchronous="full")
        self.location = parse_store_url(url_or_path, base)
        self.options = self.location.options
        self.label = self.location.label
        self.read_only = read_only = read_only or self.location.read_only
        if read_only and self.location.memory:
            raise StoreError("an in-memory audit log cannot be opened read-only")
        self._lock = threading.RLock()
        self._conn = open_connection(self.location, read_only=read_only)
        try:
            if read_only:
                version = stored_versions(self._conn).get(AUDIT, 0)
                if version == 0:
                    raise StoreError(f"{self.label}: not a horizon-flow audit log "
                                     "(no audit schema)")
                if version > current_version(AUDIT):
                    raise StoreError(f"{self.label}: audit schema version {version} is newer "
                                     "than this horizon-flow-store-sqlite knows; upgrade it")
            else:
                migrate(self._conn, AUDIT, label=self.label)
        except BaseException:
            self._conn.close()
            raise
        self._closed = False
        self.records_appended = 0

    def __enter__(self) -> SQLiteAuditSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteAuditSink({self.url!r})"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"{self.label}: the audit log is closed")

    def head(self) -> tuple[int, str] | None:
        with self._lock:
            self._check_open()
            try:
                row = self._conn.execute(
                    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            except sqlite3.Error as exc:
                raise store_error(self.label, "reading the audit head", exc) from None
        return None if row is None else (int(row[0]), str(row[1]))

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Store a batch of records in one transaction (durable when this returns)."""
        if not records:
            return
        rows = [(r.seq, r.ts, r.category, _payload_text(r), r.prev_hash, r.hash)
                for r in records]
        with self._lock:
            self._check_open()
            if self.read_only:
                raise StoreError(f"{self.label}: the audit log was opened read-only")
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(f"INSERT INTO audit ({_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
                                     rows)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError as exc:
                if AUDIT_WORM_MESSAGE in str(exc) or "UNIQUE" in str(exc):
                    raise StoreError(
                        f"{self.label}: audit records {rows[0][0]}..{rows[-1][0]} collide with "
                        "records already stored (another writer on this audit log?)") from None
                raise store_error(self.label, f"appending {len(rows)} audit records",
                                  exc) from None
            except sqlite3.Error as exc:
                raise store_error(self.label, f"appending {len(rows)} audit records",
                                  exc) from None
            self.records_appended += len(rows)

    def records(self, start_seq: int = 0) -> Iterator[AuditRecord]:
        self._check_open()
        return iter_audit_records(self._conn, start_seq, lock=self._lock, label=self.label)

    def count(self) -> int:
        with self._lock:
            self._check_open()
            return int(self._conn.execute("SELECT count(*) FROM audit").fetchone()[0])

    def flush(self) -> None:
        """Every append is already committed; nothing is buffered here."""
        self._check_open()

    def verify(self) -> tuple[int, ChainProblem | None]:
        """Recompute the chain over every stored record."""
        return verify_chain(self.records())

    def backup(self, dest_dir: str | os.PathLike[str]) -> Path:
        """Copy the audit log into ``dest_dir`` with the backup API and verify it (chain too)."""
        from .backup import backup_connection

        with self._lock:
            self._check_open()
            name = self.location.path.name if self.location.path is not None else "audit.db"
            return backup_connection(self._conn, self.label, dest_dir, name)

    def verify_file(self) -> list[str]:
        """File checks beyond the chain: integrity, schema version, WORM triggers refusing
        writes (on a scratch copy), and the chain itself."""
        from .verify import verify_connection

        with self._lock:
            self._check_open()
            return verify_connection(self._conn, self.label)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()


@attrs.frozen
class AuditVerifyReport:
    """Result of :func:`verify_audit`: records checked and the first broken one."""

    url: str
    records: int
    problem: ChainProblem | None
    file_problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.file_problems

    def lines(self) -> list[str]:
        out = list(self.file_problems)
        if self.problem is not None:
            out.append(f"{self.url}: {self.problem}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "records": self.records, "ok": self.ok,
                "first_broken_seq": None if self.problem is None else self.problem.seq,
                "problem": None if self.problem is None else str(self.problem),
                "file_problems": list(self.file_problems)}


def verify_audit(url_or_path: str | os.PathLike[str]) -> AuditVerifyReport:
    """``flow audit verify``: file checks (integrity, WORM) and the chain, read-only."""
    from .verify import verify_store

    sink = SQLiteAuditSink(url_or_path, read_only=True)
    try:
        n, problem = sink.verify()
    finally:
        sink.close()
    file_problems = tuple(p for p in verify_store(url_or_path, chain=False))
    return AuditVerifyReport(os.fspath(url_or_path), n, problem, file_problems)
