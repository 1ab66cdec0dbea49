"""SIGKILL mid-write: every committed batch survives, the file verifies, and writing resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from horizon_flow_store_sqlite import SQLiteAuditSink, SQLiteFlowStore, verify_audit, verify_store

from horizon_flow_core.audit import AuditLog
from horizon_flow_core.components import RunCounts, RunInfo

BATCH = 50

# The writer: findings through the batched path plus an audit record per finding,
# as the engine does; it reports each committed flush on stdout and never stops.
WRITER = f"""
import sys
from horizon_flow_core.audit import AuditLog
from horizon_flow_core.components import RunInfo
from horizon_flow_core.findings import AnomalyFinding
from horizon_flow_store_sqlite import SQLiteAuditSink, SQLiteFlowStore, SQLiteOptions

db, audit_db = sys.argv[1], sys.argv[2]
store = SQLiteFlowStore(db, options=SQLiteOptions(batch_size={BATCH}, flush_interval_s=3600,
                                                  flush_timer=False))
audit = AuditLog(SQLiteAuditSink(audit_db), batch_size={BATCH})
store.begin_run(RunInfo("crash-run", "scan", "cfg", "feed", None, {{}}, 1))
i = 0
while True:
    f = AnomalyFinding.make(detector="d", category="spoofing", severity="high",
                            confidence=0.9, market_id="M", venue="v", actor_id="a",
                            message="m" * 200, citation="c", evidence={{"i": i}},
                            ts=1_000 + i).with_identity(seq=i + 1)
    flushes = store.stats.flushes
    store.write_finding(f)
    audit.record("flow.anomaly", {{"finding": f.to_dict()}}, f.ts)
    if store.stats.flushes != flushes:
        print(store.stats.findings_new, flush=True)
    i += 1
"""


def make_finding(i: int):
    from horizon_flow_core.findings import AnomalyFinding

    return AnomalyFinding.make(detector="d", category="spoofing", severity="high",
                               confidence=0.9, market_id="M", venue="v", actor_id="a",
                               message="m" * 200, citation="c", evidence={"i": i},
                               ts=1_000 + i).with_identity(seq=i + 1)


@pytest.mark.parametrize("kill_after_flushes", [3, 17])
def test_sigkill_mid_write_loses_no_committed_batch(tmp_path: Path, rows,
                                                     kill_after_flushes: int) -> None:
    db, audit_db = tmp_path / "flow.db", tmp_path / "audit.db"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(audit_db)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reported = 0
    try:
        assert child.stdout is not None
        for _ in range(kill_after_flushes):
            line = child.stdout.readline()
            assert line, child.stderr.read() if child.stderr else "writer died"
            reported = int(line)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout:
            child.stdout.close()
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    assert verify_store(db) == []
    stored = rows(db, "findings", "pos")
    # Everything reported committed is there; more whole batches may have committed
    # after the last report, but never part of one.
    assert len(stored) >= reported == kill_after_flushes * BATCH
    assert len(stored) % BATCH == 0
    assert [r[1] for r in stored] == [make_finding(i).id for i in range(len(stored))]
    report = verify_audit(audit_db)
    assert report.ok and report.records >= reported

    # A rerun resumes: duplicates of what was stored are ignored, new findings appended,
    # and the audit chain continues from the stored head.
    n = len(stored)
    with SQLiteFlowStore(db) as store:
        assert store.run("crash-run")["status"] == "running"  # visibly interrupted
        store.begin_run(RunInfo("rerun", "scan", "cfg", "feed", None, {}, 2))
        for i in range(n + 10):
            store.write_finding(make_finding(i))
        store.finish_run("rerun", RunCounts(findings=n + 10))
        assert store.run("rerun")["findings_new"] == 10
    log = AuditLog(SQLiteAuditSink(audit_db))
    log.record("run.resumed", {"after": n}, ts=0)
    log.close()
    assert verify_store(db) == []
    assert len(rows(db, "findings", "pos")) == n + 10
    assert verify_audit(audit_db).ok
