"""``backup_store``: a consistent, verified copy through the backup API."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from horizon_flow_store_sqlite import (
    SQLiteAuditSink,
    SQLiteFlowStore,
    SQLiteOptions,
    backup_store,
    verify_audit,
    verify_store,
)

from horizon_flow_core.audit import AuditLog
from horizon_flow_core.errors import StoreError


def test_backup_of_a_live_store_includes_uncheckpointed_commits(tmp_path: Path, finding,
                                                                 rows) -> None:
    db = tmp_path / "flow.db"
    store = SQLiteFlowStore(db)  # kept open: committed rows sit in the WAL
    for i in range(30):
        store.write_finding(finding(i))
    store.flush()
    assert (tmp_path / "flow.db-wal").stat().st_size > 0
    copy = backup_store(db, tmp_path / "backups" / "2026-04-20")
    store.close()
    assert copy == tmp_path / "backups" / "2026-04-20" / "flow.db"
    assert rows(copy, "findings", "pos") == rows(db, "findings", "pos")
    assert verify_store(copy) == []
    assert sorted(p.name for p in copy.parent.iterdir()) == ["flow.db"]  # one file, no WAL
    conn = sqlite3.connect(copy)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_backup_while_a_writer_keeps_writing(tmp_path: Path, finding, rows) -> None:
    db = tmp_path / "flow.db"
    store = SQLiteFlowStore(db, options=SQLiteOptions(batch_size=20, flush_timer=False))
    store.write_finding(finding(0))
    store.flush()
    stop = threading.Event()

    def writer() -> None:
        i = 1
        while not stop.is_set() and i < 5_000:
            store.write_finding(finding(i))
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        copy = backup_store(db, tmp_path / "bk")
    finally:
        stop.set()
        t.join()
        store.close()
    assert verify_store(copy) == []  # a consistent snapshot: counts match runs
    n = len(rows(copy, "findings", "pos"))
    assert n >= 1 and (n - 1) % 20 == 0  # whole batches only


def test_backup_of_an_audit_log_verifies_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log = AuditLog(SQLiteAuditSink(path))
    for i in range(20):
        log.record("feed.gap", {"i": i}, ts=i)
    log.close()
    copy = backup_store(f"sqlite:///{path}", tmp_path / "bk")
    assert verify_audit(copy).ok and verify_audit(copy).records == 20


def test_an_existing_backup_is_never_overwritten(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    SQLiteFlowStore(db).close()
    first = backup_store(db, tmp_path / "bk")
    before = first.read_bytes()
    with pytest.raises(StoreError, match="a backup already exists there"):
        backup_store(db, tmp_path / "bk")
    assert first.read_bytes() == before


def test_a_source_that_does_not_verify_is_not_published(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    with SQLiteFlowStore(db) as s:
        s.write_finding(finding(1))
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER findings_worm_delete")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"flow.db.partial: the backup does not verify: .*"
                                         "WORM trigger"):
        backup_store(db, tmp_path / "bk")
    assert not (tmp_path / "bk" / "flow.db").exists()
    assert (tmp_path / "bk" / "flow.db.partial").exists()  # kept for inspection


def test_backup_of_a_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such store file"):
        backup_store(tmp_path / "missing.db", tmp_path / "bk")


def test_backup_methods_of_the_open_stores(tmp_path: Path, finding, rows) -> None:
    # What a backend-agnostic `flow backup` calls: store.backup(dest_dir).
    store = SQLiteFlowStore(tmp_path / "flow.db",
                            options=SQLiteOptions(batch_size=1000, flush_timer=False,
                                                  flush_interval_s=3600))
    for i in range(7):
        store.write_finding(finding(i))  # still buffered: backup flushes first
    copy = store.backup(tmp_path / "bk")
    store.close()
    assert len(rows(copy, "findings", "pos")) == 7 and verify_store(copy) == []
    sink = SQLiteAuditSink(tmp_path / "audit.db")
    log = AuditLog(sink)
    log.record("feed.gap", {}, ts=1)
    log.flush()
    audit_copy = sink.backup(tmp_path / "bk")
    assert sink.verify_file() == []
    log.close()
    assert audit_copy == tmp_path / "bk" / "audit.db" and verify_audit(audit_copy).records == 1


def test_backup_of_an_in_memory_store(tmp_path: Path, finding, rows) -> None:
    with SQLiteFlowStore(":memory:") as store:
        store.write_finding(finding(1))
        copy = store.backup(tmp_path / "bk")
    assert copy.name == "flow.db" and len(rows(copy, "findings", "pos")) == 1
