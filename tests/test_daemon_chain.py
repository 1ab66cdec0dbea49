"""The daemon's scheduled audit-chain verification: incremental, concurrent-safe, loud."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from horizon_flow_core.audit.chain import AuditLog
from horizon_flow_core.daemon.chain_check import ChainVerifier
from horizon_flow_core.jsonio import dumps
from horizon_flow_core.metrics import Registry

sqlite_plugin = pytest.importorskip("horizon_flow_store_sqlite.plugin")


class CountingSink:
    """Wraps the real sink to count how many records each verification reads."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.read = 0

    def records(self, start_seq: int = 0) -> Any:
        for r in self.sink.records(start_seq):
            self.read += 1
            yield r


def drop_worm_triggers(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(db))
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                "AND tbl_name = 'audit'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    return conn


def test_verifies_incrementally_and_sets_the_gauge(tmp_path: Path) -> None:
    sink = sqlite_plugin.open_audit_sink(str(tmp_path / "audit.db"))
    log = AuditLog(sink, clock=lambda: 5)
    reg = Registry()
    counting = CountingSink(sink)
    v = ChainVerifier(counting, log, metrics=reg)
    assert v.run() and v.status.verified_seq == 0  # empty log
    for i in range(10):
        log.record("flow.anomaly", {"i": i})
    assert v.run() and v.status.verified_seq == 0  # still buffered in the AuditLog
    log.flush()
    assert v.run() and v.status.verified_seq == 10 and counting.read == 10
    for i in range(3):
        log.record("feed.gap", {"i": i})
    log.flush()
    assert v.run() and v.status.verified_seq == 13
    assert counting.read == 13  # only the three new records were read
    assert "flow_audit_chain_verify_ok 1" in reg.render()
    log.close()


def test_tampering_fails_once_and_is_audited(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    log = AuditLog(sqlite_plugin.open_audit_sink(str(db)), clock=lambda: 7)
    reg = Registry()
    v = ChainVerifier(log.sink, log, metrics=reg)
    for i in range(5):
        log.record("flow.anomaly", {"i": i})
    log.flush()
    assert v.run()
    for i in range(5, 8):
        log.record("flow.anomaly", {"i": i})
    log.flush()
    conn = drop_worm_triggers(db)
    conn.execute("UPDATE audit SET payload = ? WHERE seq = 6", (dumps({"i": 600}).decode(),))
    conn.commit()
    conn.close()
    assert not v.run()
    assert v.status.ok is False and "seq 6" in (v.status.problem or "")
    assert "flow_audit_chain_verify_ok 0" in reg.render()
    assert not v.run()  # still broken: reported only once
    log.flush()
    failures = [r for r in log.sink.records() if r.category == "audit.chain_failed"]
    assert len(failures) == 1 and failures[0].payload["seq"] == 6
    assert failures[0].payload["verified_seq"] == 5
    log.close()


def test_records_removed_before_the_verified_head_are_caught(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    log = AuditLog(sqlite_plugin.open_audit_sink(str(db)), clock=lambda: 1)
    for i in range(6):
        log.record("flow.anomaly", {"i": i})
    log.close()
    conn = drop_worm_triggers(db)
    conn.execute("DELETE FROM audit WHERE seq <= 2")
    conn.commit()
    conn.close()
    sink = sqlite_plugin.open_audit_sink(str(db))
    v = ChainVerifier(sink, None)
    assert not v.run() and "starts at record 3" in (v.status.problem or "")
    sink.close()


def test_verification_while_engine_threads_append(tmp_path: Path) -> None:
    log = AuditLog(sqlite_plugin.open_audit_sink(str(tmp_path / "audit.db")),
                   clock=lambda: 1, batch_size=16)
    v = ChainVerifier(log.sink, log)
    stop = threading.Event()
    results: list[bool] = []

    def verify_loop() -> None:
        while not stop.is_set():
            results.append(v.run())

    def writer(n: int) -> None:
        for i in range(300):
            log.record("flow.anomaly", {"writer": n, "i": i})

    checker = threading.Thread(target=verify_loop)
    checker.start()
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    log.flush()
    stop.set()
    checker.join()
    assert results and all(results)
    assert v.run() and v.status.verified_seq == 900
    log.close()
