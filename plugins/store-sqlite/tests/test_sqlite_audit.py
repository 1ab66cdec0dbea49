"""The SQLite audit sink with the core's hash chain: durability, continuation, tampering."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from horizon_flow_store_sqlite import SQLiteAuditSink, verify_audit, verify_store

from horizon_flow_core.audit import AuditLog, AuditRecord, verify_chain
from horizon_flow_core.audit.chain import GENESIS_HASH, record_hash
from horizon_flow_core.errors import StoreError


def write_log(path: Path, n: int, *, batch_size: int = 4) -> list[AuditRecord]:
    log = AuditLog(SQLiteAuditSink(path), batch_size=batch_size)
    recs = [log.record("flow.anomaly" if i % 2 else "actor.profiled",
                       {"i": i, "price": 0.1 * i, "nested": {"b": [1, 2], "a": None}}, ts=1_000 + i)
            for i in range(n)]
    log.close()
    return recs


def test_records_round_trip_in_sequence_order(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    written = write_log(path, 11)
    with SQLiteAuditSink(path, read_only=True) as sink:
        assert list(sink.records()) == written
        assert [r.seq for r in sink.records(start_seq=9)] == [9, 10, 11]
        assert sink.head() == (11, written[-1].hash)
        assert verify_chain(sink.records()) == (11, None)


def test_a_reopened_log_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    first = write_log(path, 3)
    log = AuditLog(SQLiteAuditSink(path))
    rec = log.record("run.resumed", {}, ts=5)
    log.close()
    assert (rec.seq, rec.prev_hash) == (4, first[-1].hash)
    assert verify_audit(path).ok


def test_each_batch_is_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    sink = SQLiteAuditSink(path)
    log = AuditLog(sink, batch_size=5)
    for i in range(4):
        log.record("feed.gap", {"i": i}, ts=i)
    assert sink.head() is None  # buffered by the AuditLog
    log.record("feed.gap", {"i": 4}, ts=4)
    assert sink.head() is not None and sink.head()[0] == 5
    log.close()


def test_a_colliding_append_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    written = write_log(path, 3)
    with SQLiteAuditSink(path) as sink:
        forged = AuditRecord(seq=2, ts=0, category="x", payload={}, prev_hash=written[0].hash,
                             hash=record_hash(2, 0, "x", {}, written[0].hash))
        with pytest.raises(StoreError, match=r"audit records 2\.\.2 collide with records "
                                             "already stored"):
            sink.append([forged])
        assert list(sink.records()) == written


def tampered_copy(src: Path, dst: Path, *sql: str) -> Path:
    """A scratch copy with the WORM triggers dropped and ``sql`` applied."""
    shutil.copy(src, dst)
    conn = sqlite3.connect(dst)
    for t in ("audit_worm_update", "audit_worm_delete", "audit_worm_replace"):
        conn.execute(f"DROP TRIGGER {t}")
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return dst


def test_an_altered_payload_is_caught_and_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    write_log(path, 8)
    bad = tampered_copy(path, tmp_path / "bad.db",
                        "UPDATE audit SET payload = '{\"i\":5,\"price\":0.0}' WHERE seq = 6")
    report = verify_audit(bad)
    assert not report.ok
    assert report.problem is not None and report.problem.seq == 6
    assert "hash does not match the record's content" in report.problem.reason
    assert report.to_dict()["first_broken_seq"] == 6
    assert any("WORM trigger(s) missing on audit" in p for p in report.file_problems)
    assert verify_audit(path).ok  # the original is untouched


def test_reordered_records_are_caught_and_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    write_log(path, 8)
    # Swap the contents of records 3 and 4, keeping their sequence numbers.
    swap = ("UPDATE audit SET ts = n.ts, category = n.category, payload = n.payload, "
            "prev_hash = n.prev_hash, hash = n.hash FROM (SELECT seq AS s, ts, category, "
            "payload, prev_hash, hash FROM audit WHERE seq IN (3, 4)) AS n "
            "WHERE audit.seq IN (3, 4) AND n.s = 7 - audit.seq")
    bad = tampered_copy(path, tmp_path / "bad.db", swap)
    report = verify_audit(bad)
    assert report.problem is not None and report.problem.seq == 3
    assert "prev_hash does not match" in report.problem.reason


def test_a_deleted_record_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    write_log(path, 8)
    bad = tampered_copy(path, tmp_path / "bad.db", "DELETE FROM audit WHERE seq = 5")
    report = verify_audit(bad)
    assert report.problem is not None and report.problem.seq == 6
    assert "sequence jumps from 4 to 6" in report.problem.reason


def test_a_rewritten_chain_from_genesis_is_caught_by_the_file_checks_only_if_triggers_go(
        tmp_path: Path) -> None:
    # Someone who recomputes every hash after an edit produces a valid chain: what
    # remains is that the WORM triggers had to be dropped, which verify reports.
    path = tmp_path / "audit.db"
    write_log(path, 3)
    bad = tampered_copy(path, tmp_path / "bad.db", "DELETE FROM audit")
    conn = sqlite3.connect(bad)
    h = record_hash(1, 0, "x", {}, GENESIS_HASH)
    conn.execute("INSERT INTO audit VALUES (1, 0, 'x', '{}', ?, ?)", (GENESIS_HASH, h))
    conn.commit()
    conn.close()
    report = verify_audit(bad)
    assert report.problem is None and not report.ok
    assert any("WORM trigger(s) missing on audit" in p for p in report.file_problems)


def test_verify_store_on_an_audit_file_includes_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    write_log(path, 4)
    assert verify_store(path) == []
    bad = tampered_copy(path, tmp_path / "bad.db",
                        "UPDATE audit SET ts = 7 WHERE seq = 2")
    problems = verify_store(bad)
    assert any("audit chain broken: audit record seq 2" in p for p in problems)


def test_read_only_sink_refuses_appends(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    write_log(path, 1)
    with SQLiteAuditSink(path, read_only=True) as sink:
        with pytest.raises(StoreError, match="opened read-only"):
            sink.append([AuditRecord(2, 0, "x", {}, "p", "h")])
