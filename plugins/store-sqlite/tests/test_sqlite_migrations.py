"""Schema versions and forward migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from horizon_flow_store_sqlite import SQLiteFlowStore, verify_store
from horizon_flow_store_sqlite.records import FINDING_COLUMNS, finding_row
from horizon_flow_store_sqlite.schema import FLOW, MIGRATIONS, current_version, migrate

from horizon_flow_core.components import FindingQuery, RunCounts, RunInfo
from horizon_flow_core.errors import StoreError


def write_v1_file(path: Path, finding) -> None:
    """A store as version 1 of the schema left it: findings, profiles and runs only."""
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, FLOW, label=str(path), target=1) == 1
    cols = ", ".join(FINDING_COLUMNS)
    conn.execute("INSERT INTO runs (run_id, mode, config_hash, plugins, started_wall_ns, "
                 "findings_new, status) VALUES ('old', 'scan', 'h', '{}', 1, 2, 'finished')")
    for i in (0, 1):
        conn.execute(f"INSERT INTO findings ({cols}) VALUES "
                     f"({', '.join('?' * len(FINDING_COLUMNS))})", finding_row(finding(i)))
    conn.close()


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_a_version_1_file_is_upgraded_in_place(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    write_v1_file(db, finding)
    assert "dead_letters" not in tables(db)
    assert any("flow schema version 1 is not the current" in p for p in verify_store(db))
    with pytest.raises(StoreError, match="version 1 is older than .*open it for writing once"):
        SQLiteFlowStore(db, read_only=True)

    with SQLiteFlowStore(db) as store:
        assert [f.id for f in store.findings(FindingQuery())] == [finding(0).id, finding(1).id]
        # the tables later versions added work
        store.add_dead_letter("slack", {"title": "t"}, "timeout", 5)
        store.begin_run(RunInfo("new", "scan", "h", None, None, {}, 2))
        store.write_finding(finding(2))
        store.finish_run("new", RunCounts(findings=1))
    conn = sqlite3.connect(db)
    (version,) = conn.execute("SELECT version FROM schema_version WHERE component = 'flow'"
                              ).fetchone()
    conn.close()
    assert version == current_version(FLOW)
    assert {"clusters", "policies", "dead_letters"} <= tables(db)
    assert verify_store(db) == []


def test_a_failing_migration_changes_nothing(tmp_path: Path, finding, monkeypatch) -> None:
    db = tmp_path / "flow.db"
    write_v1_file(db, finding)

    def broken(db_: object) -> None:
        raise sqlite3.OperationalError("simulated failure half-way through")

    steps = MIGRATIONS[FLOW]
    # v2 runs, then a broken step: the whole upgrade must roll back
    monkeypatch.setitem(MIGRATIONS, FLOW, (steps[0], steps[1], broken))
    with pytest.raises(StoreError, match="migrating the flow schema: simulated failure"):
        SQLiteFlowStore(db)
    monkeypatch.setitem(MIGRATIONS, FLOW, steps)
    assert "clusters" not in tables(db)  # v2's table was rolled back with the rest
    with SQLiteFlowStore(db) as store:  # and the real upgrade still works afterwards
        assert store.count_findings() == 2


def test_migrating_twice_is_a_no_op(tmp_path: Path) -> None:
    db = tmp_path / "flow.db"
    SQLiteFlowStore(db).close()
    conn = sqlite3.connect(db, isolation_level=None)
    before = conn.execute("SELECT * FROM schema_version").fetchall()
    assert migrate(conn, FLOW, label=str(db)) == current_version(FLOW)
    assert conn.execute("SELECT * FROM schema_version").fetchall() == before
    conn.close()


def test_flow_store_and_audit_log_can_share_one_file(tmp_path: Path, finding) -> None:
    from horizon_flow_store_sqlite import SQLiteAuditSink

    from horizon_flow_core.audit import AuditLog

    db = tmp_path / "both.db"
    store = SQLiteFlowStore(db)
    log = AuditLog(SQLiteAuditSink(db))
    store.write_finding(finding(1))
    log.record("flow.anomaly", {"finding": finding(1).to_dict()}, ts=finding(1).ts)
    store.close()
    log.close()
    assert verify_store(db) == []
