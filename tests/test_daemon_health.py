"""``flow health``: checks from the daemon's status file plus direct store and audit checks."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from horizon_flow_core.audit.chain import AuditLog
from horizon_flow_core.cli.app import main
from horizon_flow_core.daemon.files import write_atomic
from horizon_flow_core.daemon.health import (
    FAIL,
    OK,
    WARN,
    audit_check,
    exit_code,
    sqlite_file,
    status_checks,
    store_check,
)
from horizon_flow_core.jsonio import dumps

sqlite_plugin = pytest.importorskip("horizon_flow_store_sqlite.plugin")

NS = 1_000_000_000
NOW = 1_780_000_000 * NS


def status(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "pid": os.getpid(), "host": os.uname().nodename, "state": "running",
        "updated_wall_ns": NOW - 2 * NS, "status_interval_s": 5.0, "feed_stale_after_s": 30.0,
        "queue_backed_up_fraction": 0.8, "quarantined": [],
        "venues": {
            "hyperliquid": {"source_state": "running", "last_frame_wall_ns": NOW - 1 * NS,
                            "started_wall_ns": NOW - 100 * NS, "queue_depth": 3,
                            "queue_capacity": 100, "events_ingested": 42},
            "kalshi": {"source_state": "running", "last_frame_wall_ns": NOW - 5 * NS,
                       "started_wall_ns": NOW - 100 * NS, "queue_depth": 0,
                       "queue_capacity": 100, "events_ingested": 7},
        },
        "store": {"last_error": None}, "audit": {"chain_ok": True},
    }
    base.update(over)
    return base


def by_name(checks: list[Any]) -> dict[str, Any]:
    return {c.name: c for c in checks}


def test_healthy_status_passes_every_check(tmp_path: Path) -> None:
    checks = status_checks(status(), tmp_path / "s.json", NOW)
    assert [c.status for c in checks] == [OK] * 5
    assert exit_code(checks) == 0
    assert by_name(checks)["feed hyperliquid"].line().startswith("OK   feed hyperliquid: ")


def test_a_quiet_venue_fails_while_the_others_pass(tmp_path: Path) -> None:
    st = status()
    st["venues"]["kalshi"]["last_frame_wall_ns"] = NOW - 45 * NS
    checks = by_name(status_checks(st, tmp_path / "s.json", NOW))
    assert checks["feed kalshi"].status == FAIL and "45.0 s" in checks["feed kalshi"].detail
    assert checks["feed hyperliquid"].status == OK


def test_a_venue_may_have_its_own_staleness_limit(tmp_path: Path) -> None:
    st = status()
    st["venues"]["kalshi"].update(last_frame_wall_ns=NOW - 45 * NS, stale_after_s=600.0)
    check = by_name(status_checks(st, tmp_path / "s.json", NOW))["feed kalshi"]
    assert check.status == OK


def test_a_venue_that_never_sent_a_frame_is_judged_from_its_start(tmp_path: Path) -> None:
    st = status()
    st["venues"]["kalshi"]["last_frame_wall_ns"] = None
    checks = by_name(status_checks(st, tmp_path / "s.json", NOW))
    assert checks["feed kalshi"].status == FAIL  # started 100 s ago, limit 30 s
    st["venues"]["kalshi"]["started_wall_ns"] = NOW - 3 * NS
    assert by_name(status_checks(st, tmp_path / "s.json", NOW))["feed kalshi"].status == OK


def test_failing_source_backed_up_queue_and_quarantine(tmp_path: Path) -> None:
    st = status(quarantined=["detector:spoofing"])
    st["venues"]["kalshi"].update(source_state="restarting",
                                  last_error="KalshiAuthError: refused")
    st["venues"]["hyperliquid"]["queue_depth"] = 80
    checks = by_name(status_checks(st, tmp_path / "s.json", NOW))
    assert checks["feed kalshi"].status == FAIL and "refused" in checks["feed kalshi"].detail
    assert checks["queue hyperliquid"].status == FAIL
    assert checks["components"].status == WARN
    assert "detector:spoofing" in checks["components"].detail


def test_daemon_hung_stopped_or_gone(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    hung = by_name(status_checks(status(updated_wall_ns=NOW - 60 * NS), path, NOW))["daemon"]
    assert hung.status == FAIL and "hung" in hung.detail
    stopped = by_name(status_checks(status(state="stopped"), path, NOW))
    assert [stopped[n].status for n in ("daemon", "feed hyperliquid", "feed kalshi")] == [FAIL] * 3
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    gone = by_name(status_checks(status(pid=int(proc.stdout)), path, NOW))["daemon"]
    assert gone.status == FAIL and "gone" in gone.detail
    missing = status_checks(None, path, NOW)
    assert [c.status for c in missing] == [FAIL] and str(path) in missing[0].detail


def test_daemon_reports_store_and_chain_failures(tmp_path: Path) -> None:
    st = status(store={"last_error": "StoreError: disk full"},
                audit={"chain_ok": False, "problem": "audit record seq 9: hash mismatch"})
    checks = by_name(status_checks(st, tmp_path / "s.json", NOW))
    assert checks["store (daemon)"].status == FAIL
    assert checks["audit chain (daemon)"].status == FAIL
    assert "seq 9" in checks["audit chain (daemon)"].detail


def test_sqlite_file_of_urls() -> None:
    assert sqlite_file("data/flow.db") == Path("data/flow.db")
    assert sqlite_file("sqlite:///data/flow.db?synchronous=full") == Path("data/flow.db")
    assert sqlite_file("sqlite:////var/lib/flow/flow.db") == Path("/var/lib/flow/flow.db")
    assert sqlite_file("memory://") is None and sqlite_file("postgresql://h/db") is None


def test_store_check_against_a_real_sqlite_store(tmp_path: Path) -> None:
    db = tmp_path / "flow.db"
    assert store_check(str(db)).status == FAIL  # does not exist
    sqlite_plugin.open_flow_store(str(db)).close()
    assert store_check(str(db)).status == OK
    holder = sqlite3.connect(str(db), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        locked = store_check(str(db), timeout_s=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.status == FAIL and "write lock" in locked.detail
    if os.geteuid() != 0:  # root writes anyway
        db.chmod(0o444)
        assert store_check(str(db)).status == FAIL
        db.chmod(0o644)


def test_audit_check_finds_a_tampered_record(tmp_path: Path) -> None:
    from horizon_flow_core.plugin_manager import PluginManager

    pm = PluginManager(load_entrypoints=False)
    pm.register(sqlite_plugin, name="sqlite")
    db = tmp_path / "audit.db"
    log = AuditLog(sqlite_plugin.open_audit_sink(str(db)))
    for i in range(5):
        log.record("flow.anomaly", {"i": i}, ts=i + 1)
    log.close()
    ok = audit_check(str(db), pm)
    assert ok.status == OK and "head 5" in ok.detail
    conn = sqlite3.connect(str(db))
    triggers = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'")]
    for name in triggers:  # what an attacker with file access could do
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE audit SET payload = ? WHERE seq = 3", (dumps({"i": 99}).decode(),))
    conn.commit()
    conn.close()
    broken = audit_check(str(db), pm)
    assert broken.status == FAIL and "seq 3" in broken.detail


def test_flow_health_command_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    sqlite_plugin.open_flow_store("data/flow.db").close()
    sqlite_plugin.open_audit_sink("data/audit.db").close()
    st = status(updated_wall_ns=0)  # rewritten below with the real time
    import time

    now = time.time_ns()
    st["updated_wall_ns"] = now
    for v in st["venues"].values():
        v["last_frame_wall_ns"] = now
    write_atomic(tmp_path / "data/flow.status.json", dumps(st))
    assert main(["health"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["OK"] * 7
    st["venues"]["kalshi"]["last_frame_wall_ns"] = now - 3600 * NS
    write_atomic(tmp_path / "data/flow.status.json", dumps(st))
    assert main(["health", "--json"]) == 1
    report = capsys.readouterr().out
    assert '"ok": false' in report and "feed kalshi" in report
    assert main(["health", "--status-file", str(tmp_path / "nope.json")]) == 1
    assert "no status file" in capsys.readouterr().out
