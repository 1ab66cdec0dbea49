"""Disk and file trouble: one readable StoreError line, never a traceback, nothing lost."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from horizon_flow_store_sqlite import SQLiteAuditSink, SQLiteFlowStore, SQLiteOptions, verify_store
from horizon_flow_store_sqlite.errors import store_error
from horizon_flow_store_sqlite.schema import FLOW, current_version

from horizon_flow_core.errors import StoreError


def _run(*cmd: str) -> bool:
    return subprocess.run(cmd, capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` (a directory or file) really unwritable, for whoever runs the tests.

    Root ignores permission bits, so as root a directory becomes a read-only
    bind mount (writes fail with EROFS) and a file gets the immutable flag;
    anyone else gets permission bits.
    """
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if path.is_dir():
        if not (_run("mount", "--bind", str(path), str(path))
                and _run("mount", "-o", "remount,bind,ro", str(path))):
            _run("umount", str(path))
            pytest.skip("running as root without permission to mount read-only")
        try:
            yield
        finally:
            _run("umount", str(path))
    else:
        if not _run("chattr", "+i", str(path)):
            pytest.skip("running as root on a file system without the immutable flag")
        try:
            yield
        finally:
            _run("chattr", "-i", str(path))


def test_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    with read_only(ro), pytest.raises(StoreError) as err:
        SQLiteFlowStore(ro / "flow.db")
    assert str(err.value) == (f"{ro / 'flow.db'}: directory {ro} is read-only; "
                              "cannot create the store")


def test_store_on_a_read_only_directory_can_still_be_read(tmp_path: Path, finding) -> None:
    d = tmp_path / "archive"
    d.mkdir()
    with SQLiteFlowStore(d / "flow.db") as s:
        s.write_finding(finding(1))
    with read_only(d):
        with pytest.raises(StoreError, match="read-only"):
            SQLiteFlowStore(d / "flow.db")
        with SQLiteFlowStore(d / "flow.db", read_only=True) as reader:
            assert reader.count_findings() == 1


def test_read_only_store_file(tmp_path: Path) -> None:
    db = tmp_path / "flow.db"
    SQLiteFlowStore(db).close()
    with read_only(db), pytest.raises(StoreError) as err:
        SQLiteFlowStore(db)
    assert str(err.value) == f"{db}: the store file is read-only; it cannot be written"


def test_sqlite_read_only_errors_are_translated(tmp_path: Path) -> None:
    db = tmp_path / "flow.db"
    SQLiteFlowStore(db).close()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.OperationalError) as raw:
            conn.execute("INSERT INTO dead_letters (route, payload, error, wall_ns, "
                         "last_attempt_wall_ns) VALUES ('r', '{}', 'e', 1, 1)")
    finally:
        conn.close()
    err = store_error(str(db), "keeping a dead letter", raw.value)
    assert str(err) == (f"{db}: the store is read-only (file, directory or file system not "
                        "writable) while keeping a dead letter")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        SQLiteFlowStore(tmp_path / "nope" / "flow.db")
    assert str(err.value) == (f"{tmp_path / 'nope' / 'flow.db'}: directory {tmp_path / 'nope'} "
                              "does not exist; create it first")


def test_a_directory_where_the_file_should_be(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory, not a store file"):
        SQLiteFlowStore(tmp_path)


def test_read_only_open_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such store file"):
        SQLiteFlowStore(tmp_path / "flow.db", read_only=True)
    assert not (tmp_path / "flow.db").exists()  # readers never create stores


@pytest.mark.parametrize("cls", [SQLiteFlowStore, SQLiteAuditSink])
def test_a_file_that_is_not_a_database(tmp_path: Path, cls) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError) as err:
        cls(path)
    assert str(err.value) == f"{path}: not a SQLite database (the file has some other content)"
    assert path.read_text().startswith("these are my notes")
    assert verify_store(path) == [str(err.value)]


def test_another_applications_database_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="some other application .tables: customers., not a "
                                         "horizon-flow store"):
        SQLiteFlowStore(path)
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    assert tables == ["customers"]


def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flow.db"
    SQLiteFlowStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99 WHERE component = 'flow'")
    conn.commit()
    conn.close()
    know = current_version(FLOW)
    for read_only in (False, True):
        with pytest.raises(StoreError) as err:
            SQLiteFlowStore(path, read_only=read_only)
        assert "flow schema version 99 is newer than this horizon-flow-store-sqlite knows " \
               f"({know}); upgrade the plugin" in str(err.value)
    assert any("schema version 99 is newer" in p for p in verify_store(path))


def test_full_disk_keeps_the_batch_and_the_file_consistent(tmp_path: Path, finding) -> None:
    path = tmp_path / "flow.db"
    # A page cap makes SQLite return SQLITE_FULL exactly as a full disk does.
    opts = SQLiteOptions(batch_size=10_000, flush_interval_s=3600, flush_timer=False,
                         max_page_count=40)
    store = SQLiteFlowStore(path, options=opts)
    store.write_finding(finding(0))
    store.flush()
    for i in range(1, 400):
        store.write_finding(finding(i, message="x" * 500))
    with pytest.raises(StoreError) as err:
        store.flush()
    assert str(err.value) == (
        f"{path}: disk full (or the store's max_page_count reached) while writing 399 findings "
        "and 0 profiles; the batch was rolled back and is kept in memory: free space and flush "
        "again")
    assert store.pending == 399  # nothing lost
    with pytest.raises(StoreError, match="disk full"):
        store.close()  # the final flush fails the same way; the connection is still closed
    assert verify_store(path) == []
    with SQLiteFlowStore(path, read_only=True) as reader:
        assert [f.id for f in reader.findings()] == [finding(0).id]


def test_real_full_file_system(tmp_path: Path, finding) -> None:
    """ENOSPC from a tiny tmpfs, where mounting one is allowed (root with CAP_SYS_ADMIN)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {res.stderr.strip()}")
    try:
        store = SQLiteFlowStore(mnt / "flow.db", options=SQLiteOptions(
            batch_size=100_000, flush_interval_s=3600, flush_timer=False))
        store.write_finding(finding(0))
        store.flush()
        for i in range(1, 2_000):
            store.write_finding(finding(i, message="y" * 400))
        with pytest.raises(StoreError, match="disk full"):
            store.flush()
        assert store.pending == 1_999
        with pytest.raises(StoreError, match="disk full"):
            store.close()
        assert verify_store(mnt / "flow.db", scratch_dir=tmp_path) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
