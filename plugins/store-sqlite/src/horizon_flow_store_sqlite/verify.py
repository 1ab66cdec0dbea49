"""``flow verify``: is this store file intact, still WORM, and are its counts consistent?

Checks, each reported as one line naming the file:

* ``PRAGMA integrity_check`` on the file itself;
* the schema version of each component (flow store, audit log) is the current one;
* the WORM triggers exist AND refuse writes: an UPDATE, a DELETE and a replacing
  INSERT are tried on a scratch copy made with SQLite's backup API (never on the
  live file), and the rows must come out unchanged;
* flow store: the findings table has exactly the rows the runs table accounts
  for (``runs.findings_new`` is counted by the store in the same transaction as
  the rows), row positions have no gaps (a row removed with the triggers
  dropped), and every finding's id still matches its content;
* audit log: the hash chain recomputes (first broken record named).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from horizon_flow_core.audit.chain import verify_chain
from horizon_flow_core.errors import StoreError

from .connection import open_connection
from .errors import store_error
from .records import FINDING_COLUMNS, id_matches_content, row_to_finding
from .schema import (
    AUDIT,
    COMPONENT_WORM_TABLES,
    FLOW,
    WORM_TABLES,
    current_version,
    stored_versions,
    table_names,
    worm_trigger_names,
)
from .urls import parse_store_url

_MAX_LISTED = 5

_PROBE_VALUES: dict[str, dict[str, Any]] = {
    "findings": {"id": "verify-probe", "detector": "verify", "category": "verify",
                 "severity": "low", "severity_rank": 0, "confidence": 0.0, "venue": "verify",
                 "market_id": "verify", "actor_id": None, "ts": 0, "seq": 0,
                 "message": "probe", "citation": "", "evidence": "{}"},
    "policies": {"id": "verify-probe", "venue": "verify", "actor_id": "verify",
                 "model": "probe", "params": "{}", "ts": 0, "seq": 0},
    "audit": {"ts": 0, "category": "verify.probe", "payload": "{}", "prev_hash": "probe",
              "hash": "probe"},
}
_PROBE_TEXT_COLUMN = {"findings": "message", "policies": "model", "audit": "category"}


def verify_store(url_or_path: str | os.PathLike[str], *, chain: bool = True,
                 scratch_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Check a store file without changing it. Returns the problems (empty: all good).

    Works on a flow store, an audit log or a file holding both. ``chain``:
    also recompute the audit chain. ``scratch_dir``: where the scratch copy
    for the WORM probe goes (default: the system temp dir).
    """
    loc = parse_store_url(url_or_path)
    if loc.memory:
        raise StoreError("verify needs a store file, not an in-memory store")
    try:
        conn = open_connection(loc, read_only=True)
    except StoreError as exc:
        return [str(exc)]
    try:
        return verify_connection(conn, loc.label, chain=chain, scratch_dir=scratch_dir)
    except StoreError as exc:
        return [str(exc)]
    finally:
        conn.close()


def verify_connection(conn: sqlite3.Connection, label: str, *, chain: bool = True,
                      scratch_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The checks of :func:`verify_store` on an open connection (read-only is enough)."""
    problems: list[str] = []
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.Error as exc:
        return [str(store_error(label, "checking integrity", exc))]
    if [r[0] for r in rows] != ["ok"]:
        problems.extend(f"{label}: integrity check: {r[0]}" for r in rows[:_MAX_LISTED])
        return problems  # nothing else is trustworthy in a damaged file

    try:
        versions = stored_versions(conn)
        tables = table_names(conn)
    except sqlite3.Error as exc:
        return [str(store_error(label, "reading the schema", exc))]
    if not versions:
        return [f"{label}: not a horizon-flow store (no schema_version table)"]

    worm_tables: list[str] = []
    for component, version in sorted(versions.items()):
        if component not in COMPONENT_WORM_TABLES:
            problems.append(f"{label}: unknown component {component!r} in schema_version")
            continue
        know = current_version(component)
        if version > know:
            problems.append(f"{label}: {component} schema version {version} is newer than "
                            f"this plugin knows ({know})")
        elif version < know:
            problems.append(f"{label}: {component} schema version {version} is not the "
                            f"current {know} (open it for writing once to migrate)")
        for table in COMPONENT_WORM_TABLES[component]:
            if table in tables:
                worm_tables.append(table)
            elif version >= know:
                problems.append(f"{label}: table {table} is missing")

    triggers = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()}
    for table in worm_tables:
        missing = [t for t in worm_trigger_names(table) if t not in triggers]
        if missing:
            problems.append(f"{label}: WORM trigger(s) missing on {table}: {', '.join(missing)}")
    if worm_tables:
        problems.extend(_probe_worm(conn, label, worm_tables, scratch_dir))

    if FLOW in versions and "findings" in tables and "runs" in tables:
        problems.extend(_check_flow_counts(conn, label))
        problems.extend(_check_finding_ids(conn, label))
    if chain and AUDIT in versions and "audit" in tables:
        from .audit_sink import iter_audit_records

        _, problem = verify_chain(iter_audit_records(conn, label=label))
        if problem is not None:
            problems.append(f"{label}: audit chain broken: {problem}")
    return problems


def _probe_worm(conn: sqlite3.Connection, label: str, tables: list[str],
                scratch_dir: str | os.PathLike[str] | None) -> list[str]:
    """Try to change rows of each WORM table on a backup-API scratch copy."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="flow-verify-", dir=scratch_dir) as tmp:
        scratch = sqlite3.connect(str(Path(tmp) / "scratch.db"), isolation_level=None)
        try:
            conn.backup(scratch)
            for table in tables:
                problems.extend(_probe_table(scratch, label, table))
        except sqlite3.Error as exc:
            problems.append(str(store_error(label, "probing the WORM triggers on a scratch copy",
                                            exc)))
        finally:
            scratch.close()
    return problems


def _probe_table(db: sqlite3.Connection, label: str, table: str) -> list[str]:
    message, pos_col, _key = WORM_TABLES[table]
    text_col = _PROBE_TEXT_COLUMN[table]
    values = dict(_PROBE_VALUES[table])
    (top,) = db.execute(f"SELECT coalesce(max({pos_col}), 0) FROM {table}").fetchone()
    values[pos_col] = int(top) + 1
    cols = ", ".join(values)
    marks = ", ".join("?" * len(values))
    try:
        db.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values()))
    except sqlite3.Error as exc:
        return [f"{label}: WORM probe could not insert a row into {table}: {exc}"]
    where = f"WHERE {pos_col} = {values[pos_col]}"
    original = db.execute(f"SELECT * FROM {table} {where}").fetchall()
    problems = []
    attempts = {
        "UPDATE": f"UPDATE {table} SET {text_col} = 'tampered' {where}",
        "DELETE": f"DELETE FROM {table} {where}",
        "INSERT OR REPLACE": (f"INSERT OR REPLACE INTO {table} ({cols}) VALUES ({marks})"),
    }
    for what, sql in attempts.items():
        params: tuple[Any, ...] = ()
        if what == "INSERT OR REPLACE":
            params = tuple("tampered" if c == text_col else v for c, v in values.items())
        refused_loudly = False
        # Each attempt starts from the probe row as inserted: undo whatever it did.
        db.execute("SAVEPOINT worm_probe")
        try:
            db.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            refused_loudly = message in str(exc)
            if not refused_loudly:
                db.execute("ROLLBACK TO worm_probe")
                db.execute("RELEASE worm_probe")
                problems.append(f"{label}: WORM probe: {what} on {table} failed for another "
                                f"reason: {exc}")
                continue
        unchanged = db.execute(f"SELECT * FROM {table} {where}").fetchall() == original
        db.execute("ROLLBACK TO worm_probe")
        db.execute("RELEASE worm_probe")
        if not unchanged:
            problems.append(f"{label}: WORM not enforced: {what} on {table} changed a row "
                            "(triggers missing or altered)")
        elif what != "INSERT OR REPLACE" and not refused_loudly:
            problems.append(f"{label}: WORM not enforced: {what} on {table} was not refused")
    return problems


def _check_flow_counts(conn: sqlite3.Connection, label: str) -> list[str]:
    problems = []
    (rows, top) = conn.execute("SELECT count(*), coalesce(max(pos), 0) FROM findings").fetchone()
    (accounted,) = conn.execute("SELECT coalesce(sum(findings_new), 0) FROM runs").fetchone()
    if rows != accounted:
        problems.append(f"{label}: findings table has {rows} rows but the runs table accounts "
                        f"for {accounted} (rows added or removed outside the store)")
    if top != rows:
        problems.append(f"{label}: findings positions run to {top} but there are {rows} rows "
                        "(rows were removed)")
    return problems


def _check_finding_ids(conn: sqlite3.Connection, label: str) -> list[str]:
    """Every finding's id is derived from its content: a changed row no longer matches."""
    bad: list[str] = []
    n_bad = 0
    after = 0
    cols = ", ".join(FINDING_COLUMNS)
    while True:
        rows = conn.execute(f"SELECT pos, {cols} FROM findings WHERE pos > ? ORDER BY pos "
                            "LIMIT 5000", (after,)).fetchall()
        for row in rows:
            try:
                ok = id_matches_content(row_to_finding(row[1:]))
            except Exception:  # unreadable evidence JSON, bad severity: also tampering
                ok = False
            if not ok:
                n_bad += 1
                if len(bad) < _MAX_LISTED:
                    bad.append(f"pos {row[0]} (id {row[1]})")
        if len(rows) < 5000:
            break
        after = rows[-1][0]
    if n_bad:
        return [f"{label}: {n_bad} finding(s) no longer match their content-derived id "
                f"(altered): {', '.join(bad)}"]
    return []
