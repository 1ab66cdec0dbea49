"""WORM, the audit chain, rebuild and backup, proven through the real ``flow`` CLI.

One seeded synthetic feed (planted abuse the built-in detectors catch) is
scanned once per module with ``flow scan`` into real SQLite files; every test
that tampers works on a copy made with SQLite's backup API, and changes rows
with the plain ``sqlite3`` module, as someone with file access would.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

from horizon_flow_core.audit.chain import record_hash
from horizon_flow_core.cli.app import main

from .conftest import run_flow as flow
from .conftest import sqlite_rows as rows
from .conftest import write_two_venue_feed

pytest.importorskip("horizon_flow_store_sqlite", reason="the SQLite store plugin is not installed")
pytest.importorskip("horizon_flow_detectors_builtin",
                    reason="the built-in detectors plugin is not installed")


# --------------------------------------------------------------------------- helpers


def sqlite_copy(src: Path, dest: Path) -> Path:
    """A consistent copy of a store file (SQLite's backup API, WAL contents included)."""
    with closing(sqlite3.connect(f"file:{src}?mode=ro", uri=True)) as s, \
            closing(sqlite3.connect(dest)) as d:
        s.backup(d)
    return dest


@contextmanager
def triggers_dropped(path: Path, table: str) -> Iterator[sqlite3.Connection]:
    """Drop the table's triggers, yield a connection, then put the very same triggers back.

    Restoring them makes the file look untouched to a trigger check, so only
    content checks (ids, counts, the hash chain) can catch the edit.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    saved = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                         "AND tbl_name = ? ORDER BY name", (table,)).fetchall()
    assert saved, f"{table} has no triggers in {path}"
    try:
        for name, _ in saved:
            conn.execute(f'DROP TRIGGER "{name}"')
        yield conn
    finally:
        for _, sql in saved:
            conn.execute(sql)
        conn.close()


@attrs.frozen
class Scanned:
    feed: Path
    db: Path
    audit: Path
    findings: int


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    root = tmp_path_factory.mktemp("integrity")
    feed = root / "day.jsonl"
    write_two_venue_feed(feed)
    db, audit = root / "flow.db", root / "audit.db"
    assert main(["scan", "--feed-log", str(feed), "--db", str(db), "--audit-db", str(audit),
                 "--json", "--no-progress"]) == 0
    (n,) = rows(db, "SELECT count(*) FROM findings")[0]
    assert n >= 5, "the synthetic feed should give findings of several categories"
    return Scanned(feed=feed, db=db, audit=audit, findings=n)


def anomaly_seqs(audit: Path) -> list[int]:
    return [r[0] for r in rows(audit, "SELECT seq FROM audit WHERE category = 'flow.anomaly' "
                                      "ORDER BY seq")]


# --------------------------------------------------------------------------- 1. WORM


def test_findings_cannot_be_updated_or_deleted_through_sql(
        scanned: Scanned, capsys: pytest.CaptureFixture[str]) -> None:
    before = rows(scanned.db, "SELECT * FROM findings ORDER BY pos")
    first = before[0]
    cols = ("detector, category, severity, severity_rank, confidence, venue, market_id, "
            "actor_id, ts, seq, message, citation, evidence")
    conn = sqlite3.connect(scanned.db, isolation_level=None)
    try:
        refused = [
            ("UPDATE findings SET severity = 'low', severity_rank = 0 WHERE pos = ?", (first[0],)),
            ("UPDATE findings SET message = 'nothing to see'", ()),
            ("DELETE FROM findings WHERE pos = ?", (first[0],)),
            ("DELETE FROM findings", ()),
            # REPLACE deletes the old row without firing delete triggers: refused too
            (f"INSERT OR REPLACE INTO findings (pos, id, {cols}) SELECT pos, 'forged', {cols} "
             "FROM findings WHERE pos = ?", (first[0],)),
        ]
        for sql, params in refused:
            with pytest.raises(sqlite3.DatabaseError, match=r"append-only \(WORM\)"):
                conn.execute(sql, params)
        # a row with a stored id (a restarted run re-emitting a finding) is skipped, whatever
        # else it says and however it is inserted
        forged = cols.replace("severity, severity_rank", "'low', 0").replace(
            "message", "'forged'")
        skipped = [
            f"INSERT INTO findings (id, {cols}) SELECT id, {forged} FROM findings WHERE pos = ?",
            f"INSERT OR REPLACE INTO findings (id, {cols}) SELECT id, {forged} FROM findings "
            "WHERE pos = ?",
            "INSERT OR REPLACE INTO findings SELECT * FROM findings WHERE pos = ?",
        ]
        for sql in skipped:
            conn.execute(sql, (first[0],))
        assert conn.total_changes == 0
    finally:
        conn.close()
    assert rows(scanned.db, "SELECT * FROM findings ORDER BY pos") == before
    code, out, _ = flow(capsys, "verify", "--db", str(scanned.db))
    assert code == 0, out
    assert out.startswith(f"ok: {scanned.db} passes integrity, WORM and count checks")


@pytest.mark.parametrize("trigger", ["findings_worm_update", "findings_worm_delete",
                                     "findings_worm_replace"])
def test_verify_fails_when_a_worm_trigger_is_dropped(
        scanned: Scanned, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        trigger: str) -> None:
    copy = sqlite_copy(scanned.db, tmp_path / "copy.db")
    code, out, _ = flow(capsys, "verify", "--db", str(copy))
    assert code == 0, out
    with closing(sqlite3.connect(copy)) as conn:
        conn.execute(f"DROP TRIGGER {trigger}")
        conn.commit()
    code, out, err = flow(capsys, "verify", "--db", str(copy))
    assert code != 0
    assert f"FAIL {copy}: WORM trigger(s) missing on findings: {trigger}" in out.splitlines()
    assert "Traceback" not in out + err
    code, out, _ = flow(capsys, "verify", "--db", str(copy), "--json")
    report = json.loads(out)
    assert code != 0 and report["ok"] is False
    assert any(trigger in p for p in report["problems"])


def test_verify_names_a_finding_edited_behind_the_triggers(
        scanned: Scanned, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = sqlite_copy(scanned.db, tmp_path / "copy.db")
    (pos, fid), = rows(copy, "SELECT pos, id FROM findings ORDER BY pos LIMIT 1 OFFSET 1")
    with triggers_dropped(copy, "findings") as conn:
        conn.execute("UPDATE findings SET evidence = json_set(evidence, '$.edited', 1), "
                     "actor_id = '0xsomeoneelse' WHERE pos = ?", (pos,))
    code, out, _ = flow(capsys, "verify", "--db", str(copy))
    assert code != 0
    assert "no longer match their content-derived id" in out
    assert f"pos {pos} (id {fid})" in out
    assert "WORM trigger" not in out  # the triggers are back: the content check caught it


def test_verify_against_the_audit_log_names_a_severity_edited_behind_the_triggers(
        scanned: Scanned, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A finding's id covers detector, category, venue, market, actor, ts and evidence, so
    the store alone cannot see severity or confidence edited behind the triggers; checked
    against the audit log (the authority) it is named field by field."""
    code, out, _ = flow(capsys, "verify", "--db", str(scanned.db), "--audit-db",
                        str(scanned.audit))
    assert code == 0 and "matches the audit log" in out
    copy = sqlite_copy(scanned.db, tmp_path / "copy.db")
    with triggers_dropped(copy, "findings") as conn:
        (fid, severity), = conn.execute(
            "SELECT id, severity FROM findings WHERE pos = (SELECT max(pos) FROM findings)"
        ).fetchall()
        edited, rank = ("low", 0) if severity != "low" else ("critical", 3)
        conn.execute("UPDATE findings SET severity = ?, severity_rank = ?, confidence = 0.01 "
                     "WHERE id = ?", (edited, rank, fid))
    code, out, _ = flow(capsys, "verify", "--db", str(copy), "--audit-db", str(scanned.audit),
                        "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    assert any(p.startswith(f"finding {fid}: severity is {edited!r} in the store but "
                            f"{severity!r} in the audit log") for p in problems), problems
    assert any(p.startswith(f"finding {fid}: confidence is 0.01") for p in problems), problems


def test_severity_edit_is_found_by_diffing_against_a_rebuild_from_the_audit_log(
        scanned: Scanned, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What verify cannot see (above), the authority can: rebuild, then diff."""
    copy = sqlite_copy(scanned.db, tmp_path / "copy.db")
    with triggers_dropped(copy, "findings") as conn:
        (fid, severity), = conn.execute(
            "SELECT id, severity FROM findings WHERE pos = (SELECT max(pos) FROM findings)"
        ).fetchall()
        downgraded = "low" if severity != "low" else "medium"
        conn.execute("UPDATE findings SET severity = ? WHERE id = ?",
                     (downgraded, fid))
    rebuilt = tmp_path / "rebuilt.db"
    code, _, err = flow(capsys, "rebuild", "--audit-db", str(scanned.audit), "--db", str(rebuilt))
    assert code == 0, err
    code, out, _ = flow(capsys, "diff", str(rebuilt), str(copy), "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["only_in_a"] == doc["only_in_b"] == []
    assert [(c["a"]["id"], c["a"]["severity"], c["b"]["severity"]) for c in doc["changed"]] == \
        [(fid, severity, downgraded)]


def test_verify_names_a_finding_deleted_behind_the_triggers(
        scanned: Scanned, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = sqlite_copy(scanned.db, tmp_path / "copy.db")
    with triggers_dropped(copy, "findings") as conn:
        conn.execute("DELETE FROM findings WHERE pos = 2")
    code, out, _ = flow(capsys, "verify", "--db", str(copy))
    assert code != 0
    n = scanned.findings
    assert out.splitlines() == [
        f"FAIL {copy}: findings table has {n - 1} rows but the runs table accounts for {n} "
        "(rows added or removed outside the store)",
        f"FAIL {copy}: findings positions run to {n} but there are {n - 1} rows "
        "(rows were removed)"]


# --------------------------------------------------------------------------- 2. audit chain


def test_untampered_audit_log_passes(scanned: Scanned, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    (n,) = rows(scanned.audit, "SELECT count(*) FROM audit")[0]
    code, out, _ = flow(capsys, "audit", "verify", "--db", str(scanned.audit))
    assert code == 0, out
    assert out.strip() == f"ok: {n} audit records, chain intact"
    code, out, _ = flow(capsys, "audit", "verify", "--db", str(scanned.audit), "--json")
    assert code == 0
    assert json.loads(out) == {"audit": str(scanned.audit), "records": n, "ok": True,
                               "problem": None, "storage_problems": []}


def audit_verify_json(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, dict[str, Any]]:
    code, out, err = flow(capsys, "audit", "verify", "--db", str(path), "--json")
    assert "Traceback" not in out + err
    return code, json.loads(out)


def test_changed_audit_payload_is_named(scanned: Scanned, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    copy = sqlite_copy(scanned.audit, tmp_path / "audit.db")
    seq = anomaly_seqs(copy)[1]
    (payload,), = rows(copy, "SELECT payload FROM audit WHERE seq = ?", (seq,))
    doc = json.loads(payload)
    doc["finding"]["severity"] = "low" if doc["finding"]["severity"] != "low" else "critical"
    with triggers_dropped(copy, "audit") as conn:
        conn.execute("UPDATE audit SET payload = ? WHERE seq = ?", (json.dumps(doc), seq))

    code, report = audit_verify_json(capsys, copy)
    assert code != 0 and report["ok"] is False
    assert report["problem"]["seq"] == seq
    assert "hash does not match" in report["problem"]["reason"]
    assert report["storage_problems"] == []  # triggers back in place: only the chain tells
    code, out, _ = flow(capsys, "audit", "verify", "--db", str(copy))
    assert code != 0
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"BROKEN: audit record seq {seq} (position ")


def test_rehashed_audit_record_breaks_the_link_to_the_next(
        scanned: Scanned, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A forger who also recomputes the edited record's own hash is caught one record later."""
    copy = sqlite_copy(scanned.audit, tmp_path / "audit.db")
    seq = anomaly_seqs(copy)[0]
    (ts, category, payload, prev), = rows(
        copy, "SELECT ts, category, payload, prev_hash FROM audit WHERE seq = ?", (seq,))
    doc = json.loads(payload)
    doc["finding"]["message"] = "nothing to see here"
    forged = record_hash(seq, ts, category, doc, prev)
    with triggers_dropped(copy, "audit") as conn:
        conn.execute("UPDATE audit SET payload = ?, hash = ? WHERE seq = ?",
                     (json.dumps(doc), forged, seq))
    code, report = audit_verify_json(capsys, copy)
    assert code != 0
    assert report["problem"]["seq"] == seq + 1
    assert "prev_hash" in report["problem"]["reason"]


def test_deleted_audit_record_is_named(scanned: Scanned, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    copy = sqlite_copy(scanned.audit, tmp_path / "audit.db")
    seq = anomaly_seqs(copy)[0]
    with triggers_dropped(copy, "audit") as conn:
        conn.execute("DELETE FROM audit WHERE seq = ?", (seq,))
    code, report = audit_verify_json(capsys, copy)
    assert code != 0 and report["ok"] is False
    assert report["problem"]["seq"] == seq + 1
    assert f"sequence jumps from {seq - 1} to {seq + 1}" in report["problem"]["reason"]


def test_deleted_and_renumbered_audit_record_is_named(
        scanned: Scanned, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Closing the gap after a deletion (every later seq moved down) still breaks the chain."""
    copy = sqlite_copy(scanned.audit, tmp_path / "audit.db")
    seq = anomaly_seqs(copy)[0]
    with triggers_dropped(copy, "audit") as conn:
        conn.execute("DELETE FROM audit WHERE seq = ?", (seq,))
        for (s,) in conn.execute("SELECT seq FROM audit WHERE seq > ? ORDER BY seq",
                                 (seq,)).fetchall():
            conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (s - 1, s))
    code, report = audit_verify_json(capsys, copy)
    assert code != 0
    assert report["problem"]["seq"] == seq


def test_reordered_audit_records_are_named(scanned: Scanned, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    copy = sqlite_copy(scanned.audit, tmp_path / "audit.db")
    seq = anomaly_seqs(copy)[0]
    cols = "ts, category, payload, prev_hash, hash"
    a, b = (rows(copy, f"SELECT {cols} FROM audit WHERE seq = ?", (s,))[0] for s in (seq, seq + 1))
    assert a != b
    with triggers_dropped(copy, "audit") as conn:
        sql = "UPDATE audit SET ts = ?, category = ?, payload = ?, prev_hash = ?, hash = ? " \
              "WHERE seq = ?"
        conn.execute(sql, (*b, seq))
        conn.execute(sql, (*a, seq + 1))
    code, report = audit_verify_json(capsys, copy)
    assert code != 0 and report["ok"] is False
    assert report["problem"]["seq"] == seq
    code, out, _ = flow(capsys, "audit", "verify", "--db", str(copy))
    assert code != 0 and f"audit record seq {seq} " in out


# --------------------------------------------------------------------------- 5. rebuild


def test_rebuild_reproduces_the_findings_table(scanned: Scanned, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    rebuilt = tmp_path / "rebuilt.db"
    code, _, err = flow(capsys, "rebuild", "--audit-db", str(scanned.audit), "--db", str(rebuilt))
    assert code == 0, err
    assert f"{scanned.findings} findings" in err

    exports = []
    for db in (scanned.db, rebuilt):
        code, out, _ = flow(capsys, "anomalies", "--db", str(db), "--format", "jsonl",
                            "--limit", "0")
        assert code == 0
        exports.append(out)
    assert exports[0] == exports[1]
    assert len(exports[0].splitlines()) == scanned.findings
    # the table itself, row for row in write order, and the profiles
    assert rows(rebuilt, "SELECT * FROM findings ORDER BY pos") == \
        rows(scanned.db, "SELECT * FROM findings ORDER BY pos")
    assert rows(rebuilt, "SELECT * FROM actor_profiles ORDER BY venue, actor_id") == \
        rows(scanned.db, "SELECT * FROM actor_profiles ORDER BY venue, actor_id")
    code, out, _ = flow(capsys, "verify", "--db", str(rebuilt))
    assert code == 0, out
    (n_audit,), = rows(scanned.audit, "SELECT count(*) FROM audit")
    assert rows(rebuilt, "SELECT mode, feed, status, events, findings, findings_new FROM runs") \
        == [("rebuild", str(scanned.audit), "finished", n_audit, scanned.findings,
             scanned.findings)]

    code, _, err = flow(capsys, "rebuild", "--audit-db", str(scanned.audit), "--db", str(rebuilt))
    assert code != 0 and "already exists" in err


def test_rebuild_refuses_a_tampered_chain(scanned: Scanned, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    copy = sqlite_copy(scanned.audit, tmp_path / "audit.db")
    seq = anomaly_seqs(copy)[-1]
    with triggers_dropped(copy, "audit") as conn:
        conn.execute("UPDATE audit SET payload = replace(payload, '\"severity\"', "
                     "'\"severity_was\"') WHERE seq = ?", (seq,))
    target = tmp_path / "rebuilt.db"
    code, out, err = flow(capsys, "rebuild", "--audit-db", str(copy), "--db", str(target))
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith(f"error: {copy}: audit record seq {seq} (position ")
    assert "refusing to rebuild" in lines[0]
    assert not target.exists()


# --------------------------------------------------------------------------- 8. backup


def test_backup_output_verifies(scanned: Scanned, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "backups" / "2025-01-06"
    code, out, err = flow(capsys, "backup", "--db", str(scanned.db), "--to", str(dest),
                          "--audit-db", str(scanned.audit))
    assert code == 0, err
    copies = [Path(line.split(" -> ", 1)[1].removesuffix(" (verified)"))
              for line in out.splitlines() if line.startswith("backed up ")]
    assert len(copies) == 2 and all(c.parent == dest and c.is_file() for c in copies)
    flow_copy, audit_copy = copies
    # a self-contained single file each: no WAL side files needed to read it
    assert sorted(p.name for p in dest.iterdir()) == sorted(c.name for c in copies)

    code, out, _ = flow(capsys, "verify", "--db", str(flow_copy))
    assert code == 0, out
    code, out, _ = flow(capsys, "audit", "verify", "--db", str(audit_copy))
    assert code == 0, out
    assert rows(flow_copy, "SELECT * FROM findings ORDER BY pos") == \
        rows(scanned.db, "SELECT * FROM findings ORDER BY pos")
    assert rows(audit_copy, "SELECT * FROM audit ORDER BY seq") == \
        rows(scanned.audit, "SELECT * FROM audit ORDER BY seq")

    # a backup never overwrites an earlier one
    before = flow_copy.read_bytes()
    code, _, err = flow(capsys, "backup", "--db", str(scanned.db), "--to", str(dest))
    assert code != 0
    assert err.strip().splitlines() == [
        f"error: {flow_copy}: a backup already exists there; choose another directory"]
    assert flow_copy.read_bytes() == before


def test_backup_of_a_file_holding_both_stores(scanned: Scanned, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    both = tmp_path / "both.db"
    code, _, err = flow(capsys, "scan", "--feed-log", str(scanned.feed), "--db", str(both),
                        "--audit-db", str(both))
    assert code == 0, err
    code, out, err = flow(capsys, "backup", "--db", str(both), "--audit-db", str(both), "--to",
                          str(tmp_path / "bk"))
    assert code == 0, err
    assert out.strip() == f"backed up {both} -> {tmp_path / 'bk' / 'both.db'} (verified)"
    copy = tmp_path / "bk" / "both.db"
    code, out, _ = flow(capsys, "verify", "--db", str(copy))
    assert code == 0, out
    code, out, _ = flow(capsys, "audit", "verify", "--db", str(copy))
    assert code == 0, out
    assert rows(copy, "SELECT count(*) FROM findings") == [(scanned.findings,)]
