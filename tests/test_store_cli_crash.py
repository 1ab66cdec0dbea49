"""SIGKILL in the middle of ``flow scan``: the files verify, and the scan can simply be run again.

A real ``flow`` process scans a generated feed with planted abuse into real
SQLite files and is killed (no handler can run) once the store shows
committed findings; what it left behind must verify, and a rerun into the
same store must finish without storing any finding twice.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from horizon_flow_core.synthetic import generate_stream, write_feed

from .conftest import run_flow as flow
from .conftest import sqlite_rows as query

pytest.importorskip("horizon_flow_store_sqlite", reason="the SQLite store plugin is not installed")
pytest.importorskip("horizon_flow_detectors_builtin",
                    reason="the built-in detectors plugin is not installed")

#: Events in the feed: a full scan takes several seconds here, so the kill lands mid-run.
EVENTS = 100_000


def committed_findings(path: Path) -> int:
    """Findings a reader sees in the store file (0 while it does not exist yet)."""
    if not path.exists():
        return 0
    try:
        return int(query(path, "SELECT count(*) FROM findings")[0][0])
    except sqlite3.Error:  # not created or migrated yet
        return 0


def kill_when_committed(args: list[str], db: Path, log: Path, timeout_s: float = 90.0) -> None:
    """Start ``flow ARGS`` and SIGKILL it as soon as ``db`` shows committed findings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORIZON_FLOW_")}
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "horizon_flow_core.cli.app", *args],
                                stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            deadline = time.monotonic() + timeout_s
            while committed_findings(db) == 0:
                assert proc.poll() is None, (
                    f"flow scan ended (exit {proc.returncode}) before any finding was "
                    f"committed: {log.read_text()[-2000:]}")
                assert time.monotonic() < deadline, "no committed finding in time"
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


@pytest.mark.slow
def test_sigkill_mid_scan_leaves_verifiable_stores_and_a_rerun_completes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed = tmp_path / "big.jsonl"
    assert write_feed(feed, generate_stream(seed=5, n_events=EVENTS, n_markets=4, n_actors=40,
                                            episodes_every_s=2.0)) == EVENTS
    db, audit = tmp_path / "flow.db", tmp_path / "audit.db"

    # a short flush interval: committed batches appear early, well before the feed ends
    kill_when_committed(["scan", "--feed-log", str(feed), "--db",
                         f"sqlite:///{db}?flush_interval_s=0.2", "--audit-db", str(audit),
                         "--no-progress", "--json"], db, tmp_path / "killed.stderr")

    # it really died mid-run: its run never finished, in the store or in the audit log
    assert query(db, "SELECT status FROM runs") == [("running",)]
    categories = [r[0] for r in query(audit, "SELECT category FROM audit ORDER BY seq")]
    assert categories[:1] == ["run.started"] and "run.finished" not in categories
    before = [r[0] for r in query(db, "SELECT id FROM findings ORDER BY pos")]
    assert before
    # the authority is never behind the view: every committed finding is already audited
    audited_at_kill = {r[0] for r in query(
        audit, "SELECT json_extract(payload, '$.finding.id') FROM audit WHERE category IN "
               "('flow.anomaly', 'flow.bot_detected')")}
    assert set(before) <= audited_at_kill

    code, out, _ = flow(capsys, "verify", "--db", str(db))
    assert code == 0, out
    code, out, _ = flow(capsys, "audit", "verify", "--db", str(audit), "--json")
    assert code == 0, out
    assert json.loads(out)["records"] == len(categories)

    # profiles the killed scan still held in memory (a replay holds them for its
    # replay batch) are not lost: the authority has them all, and rebuilds them
    audited_actors = set(query(audit, "SELECT json_extract(payload, '$.profile.venue'), "
                                      "json_extract(payload, '$.profile.actor_id') FROM audit "
                                      "WHERE category = 'actor.profiled'"))
    assert audited_actors
    assert set(query(db, "SELECT venue, actor_id FROM actor_profiles")) <= audited_actors
    rebuilt = tmp_path / "rebuilt.db"
    code, out, err = flow(capsys, "rebuild", "--audit-db", str(audit), "--db", str(rebuilt))
    assert code == 0, err + out
    assert set(query(rebuilt, "SELECT venue, actor_id FROM actor_profiles")) == audited_actors

    # the same scan again, into the same files, to the end
    code, out, err = flow(capsys, "scan", "--feed-log", str(feed), "--db", str(db),
                          "--audit-db", str(audit), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "finished" and summary["events"] == EVENTS

    after = [r[0] for r in query(db, "SELECT id FROM findings ORDER BY pos")]
    assert len(after) == len(set(after)), "a finding was stored twice"
    assert after[:len(before)] == before  # what was committed is kept, in place
    assert len(after) == summary["findings"]  # the rerun re-emitted those, stored once
    code, out, _ = flow(capsys, "anomalies", "--db", str(db), "--limit", "0", "--format", "jsonl")
    assert code == 0
    listed = [json.loads(line)["id"] for line in out.splitlines()]
    assert sorted(listed) == sorted(after)

    assert sorted(r[0] for r in query(db, "SELECT status FROM runs")) == ["finished", "running"]
    code, out, _ = flow(capsys, "verify", "--db", str(db))
    assert code == 0, out
    code, out, _ = flow(capsys, "audit", "verify", "--db", str(audit), "--json")
    assert code == 0, out
    after_kill = len(categories)
    categories = [r[0] for r in query(audit, "SELECT category FROM audit ORDER BY seq")]
    assert categories.count("run.started") == (2 if after_kill else 1)
    assert categories.count("run.finished") == 1 and categories[-1] == "run.finished"
    # in the end the authority holds every stored finding (rebuild works from it)
    audited = {r[0] for r in query(audit, "SELECT json_extract(payload, '$.finding.id') FROM "
                                          "audit WHERE category IN ('flow.anomaly', "
                                          "'flow.bot_detected')")}
    assert set(after) <= audited
