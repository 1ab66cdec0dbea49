"""WORM: stored findings, policies and audit records cannot be changed through SQL."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from horizon_flow_store_sqlite import (
    PolicyRecord,
    SQLiteAuditSink,
    SQLiteFlowStore,
    verify_store,
)

from horizon_flow_core.audit import AuditLog


def _store_with_findings(path: Path, finding, n: int = 3) -> None:
    with SQLiteFlowStore(path) as s:
        for i in range(n):
            s.write_finding(finding(i))
        s.append_policy(PolicyRecord(venue="v", actor_id="a", model="irl", params={"w": 1},
                                     ts=5))


@pytest.mark.parametrize("sql", [
    "UPDATE findings SET severity = 'low'",
    "UPDATE findings SET evidence = '{}' WHERE pos = 1",
    "DELETE FROM findings WHERE pos = 2",
    "DELETE FROM findings",
    "UPDATE policies SET params = '{}'",
    "DELETE FROM policies",
])
def test_update_and_delete_are_refused(tmp_path: Path, finding, rows, sql: str) -> None:
    db = tmp_path / "flow.db"
    _store_with_findings(db, finding)
    before = rows(db, "findings", "pos"), rows(db, "policies", "pos")
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match=r"append-only \(WORM\)"):
        conn.execute(sql)
    conn.commit()
    conn.close()
    assert (rows(db, "findings", "pos"), rows(db, "policies", "pos")) == before


def test_replacing_inserts_do_not_overwrite(tmp_path: Path, finding, rows) -> None:
    db = tmp_path / "flow.db"
    _store_with_findings(db, finding)
    before = rows(db, "findings", "pos")
    conn = sqlite3.connect(db)
    # Same id: REPLACE would delete the old row without firing delete triggers.
    conn.execute("INSERT OR REPLACE INTO findings (id, detector, category, severity, "
                 "severity_rank, confidence, venue, market_id, actor_id, ts, seq, message, "
                 "citation, evidence) SELECT id, detector, category, 'critical', 3, 1.0, venue, "
                 "market_id, actor_id, ts, seq, 'rewritten', citation, evidence FROM findings "
                 "WHERE pos = 1")
    # Same position, another id.
    with pytest.raises(sqlite3.IntegrityError, match="WORM"):
        conn.execute("INSERT OR REPLACE INTO findings (pos, id, detector, category, severity, "
                     "severity_rank, confidence, venue, market_id, actor_id, ts, seq, message, "
                     "citation, evidence) VALUES (2, 'other', 'd', 'c', 'low', 0, 0.1, 'v', 'm', "
                     "NULL, 1, 1, 'x', 'c', '{}')")
    # An upsert of a stored id: the dedupe trigger skips the row before any update.
    conn.execute("INSERT INTO findings (id, detector, category, severity, severity_rank, "
                 "confidence, venue, market_id, actor_id, ts, seq, message, citation, "
                 "evidence) SELECT id, detector, category, severity, severity_rank, "
                 "confidence, venue, market_id, actor_id, ts, seq, message, citation, "
                 "evidence FROM findings WHERE pos = 1 "
                 "ON CONFLICT(id) DO UPDATE SET message = 'upserted'")
    conn.commit()
    conn.close()
    assert rows(db, "findings", "pos") == before
    assert verify_store(db) == []


def test_audit_records_are_worm(tmp_path: Path, rows) -> None:
    path = tmp_path / "audit.db"
    log = AuditLog(SQLiteAuditSink(path))
    for i in range(3):
        log.record("feed.gap", {"i": i}, ts=i)
    log.close()
    before = rows(path, "audit", "seq")
    conn = sqlite3.connect(path)
    for sql in ("UPDATE audit SET payload = '{}' WHERE seq = 2", "DELETE FROM audit WHERE seq = 3",
                "INSERT OR REPLACE INTO audit (seq, ts, category, payload, prev_hash, hash) "
                "VALUES (2, 0, 'x', '{}', 'p', 'h')"):
        with pytest.raises(sqlite3.IntegrityError, match=r"audit records are append-only"):
            conn.execute(sql)
    conn.commit()
    conn.close()
    assert rows(path, "audit", "seq") == before


def test_verify_probes_a_scratch_copy_and_never_the_live_file(tmp_path: Path, finding,
                                                              rows) -> None:
    db = tmp_path / "flow.db"
    _store_with_findings(db, finding)
    before = db.read_bytes()
    assert verify_store(db, scratch_dir=tmp_path) == []
    assert db.read_bytes() == before
    # The scratch copy is gone; a WAL reader may leave its (empty) -wal and -shm files.
    assert {p.name for p in tmp_path.iterdir()} <= {"flow.db", "flow.db-wal", "flow.db-shm"}
    wal = tmp_path / "flow.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def _drop_triggers(path: Path, *names: str) -> None:
    conn = sqlite3.connect(path)
    for name in names:
        conn.execute(f"DROP TRIGGER {name}")
    conn.commit()
    conn.close()


def test_verify_reports_missing_triggers_and_unrefused_writes(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    _store_with_findings(db, finding)
    _drop_triggers(db, "findings_worm_update", "policies_worm_delete")
    problems = verify_store(db)
    joined = "\n".join(problems)
    assert "WORM trigger(s) missing on findings: findings_worm_update" in joined
    assert "WORM trigger(s) missing on policies: policies_worm_delete" in joined
    assert "WORM not enforced: UPDATE on findings changed a row" in joined
    assert "WORM not enforced: DELETE on policies changed a row" in joined
    assert all(p.startswith(str(db)) for p in problems)


def test_verify_detects_a_trigger_replaced_by_a_harmless_one(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    _store_with_findings(db, finding)
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER findings_worm_delete")
    conn.execute("CREATE TRIGGER findings_worm_delete BEFORE DELETE ON findings "
                 "BEGIN SELECT 1; END")
    conn.commit()
    conn.close()
    problems = verify_store(db)
    assert problems == [f"{db}: WORM not enforced: DELETE on findings changed a row "
                        "(triggers missing or altered)"]


def test_verify_detects_rows_edited_or_removed_behind_the_store(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    _store_with_findings(db, finding, n=5)
    edited = tmp_path / "edited.db"
    shutil.copy(db, edited)
    _drop_triggers(edited, "findings_worm_update", "findings_worm_delete")
    conn = sqlite3.connect(edited)
    conn.execute("UPDATE findings SET evidence = '{\"i\": 999}' WHERE pos = 2")
    conn.execute("DELETE FROM findings WHERE pos = 4")
    conn.execute("CREATE TRIGGER findings_worm_update BEFORE UPDATE ON findings "
                 "BEGIN SELECT RAISE(ABORT, 'findings are append-only (WORM)'); END")
    conn.execute("CREATE TRIGGER findings_worm_delete BEFORE DELETE ON findings "
                 "BEGIN SELECT RAISE(ABORT, 'findings are append-only (WORM)'); END")
    conn.commit()
    conn.close()
    problems = verify_store(edited)
    assert any("has 4 rows but the runs table accounts for 5" in p for p in problems)
    assert any("positions run to 5 but there are 4 rows" in p for p in problems)
    assert any("1 finding(s) no longer match their content-derived id" in p and "pos 2" in p
               for p in problems)
    assert verify_store(db) == []
