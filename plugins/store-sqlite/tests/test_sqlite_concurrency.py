"""WAL: readers see whole committed batches while a writer flushes, and never block it."""

from __future__ import annotations

import threading
from pathlib import Path

from horizon_flow_store_sqlite import SQLiteFlowStore, SQLiteOptions, verify_store

from horizon_flow_core.components import FindingQuery

BATCH = 200


def test_reader_sees_only_whole_batches_while_the_writer_flushes(tmp_path: Path,
                                                                 finding) -> None:
    db = tmp_path / "flow.db"
    writer = SQLiteFlowStore(db, options=SQLiteOptions(batch_size=BATCH, flush_timer=False,
                                                       flush_interval_s=3600))
    fs = [finding(i) for i in range(BATCH * 10)]
    done = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def read_loop() -> None:
        try:
            with SQLiteFlowStore(db, read_only=True) as reader:
                while not done.is_set():
                    n = sum(1 for _ in reader.findings(FindingQuery()))
                    seen.append(n)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    t = threading.Thread(target=read_loop)
    t.start()
    try:
        for f in fs:
            writer.write_finding(f)
    finally:
        done.set()
        t.join()
        writer.close()
    assert errors == []
    assert seen, "the reader never completed a read"
    assert all(n % BATCH == 0 for n in seen), sorted(set(seen))
    assert seen == sorted(seen)  # committed data never disappears
    assert verify_store(db) == []


def test_two_writers_share_a_store(tmp_path: Path, finding) -> None:
    # Two stores on one file (e.g. the daemon and a manual scan): each flush takes
    # the write lock in turn; both runs' counts stay consistent.
    db = tmp_path / "flow.db"
    a, b = SQLiteFlowStore(db), SQLiteFlowStore(db)
    for i in range(300):
        (a if i % 2 else b).write_finding(finding(i))
        if i % 50 == 0:
            a.flush()
            b.flush()
    a.close()
    b.close()
    with SQLiteFlowStore(db, read_only=True) as r:
        assert r.count_findings() == 300
    assert verify_store(db) == []


def test_an_open_write_transaction_blocks_neither_readers_nor_loses_data(tmp_path: Path,
                                                                         finding) -> None:
    import sqlite3

    import pytest
    from horizon_flow_store_sqlite.records import FINDING_COLUMNS, finding_row

    from horizon_flow_core.errors import StoreError

    db = tmp_path / "flow.db"
    with SQLiteFlowStore(db) as s:
        for i in range(10):
            s.write_finding(finding(i))
    other = sqlite3.connect(db, isolation_level=None)  # another process, mid-transaction
    other.execute("BEGIN IMMEDIATE")
    other.execute(f"INSERT INTO findings ({', '.join(FINDING_COLUMNS)}) VALUES "
                  f"({', '.join('?' * len(FINDING_COLUMNS))})", finding_row(finding(10)))
    reader = SQLiteFlowStore(f"sqlite:///{db}?busy_timeout_ms=0", read_only=True)
    writer = SQLiteFlowStore(f"sqlite:///{db}?busy_timeout_ms=0&flush_timer=off"
                             "&flush_interval_s=3600")
    try:
        assert reader.count_findings() == 10  # the last committed state, without waiting
        writer.write_finding(finding(11))
        with pytest.raises(StoreError, match="locked by another process while writing 1 "
                                             "findings"):
            writer.flush()
        assert writer.pending == 1  # kept for the next flush
        other.execute("COMMIT")
        assert reader.count_findings() == 11
        writer.flush()
        assert reader.count_findings() == 12
    finally:
        other.close()
        reader.close()
        writer.close()
