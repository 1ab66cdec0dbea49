"""Buffered writes: flush on size, on time and on close; one transaction per flush."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import attrs
import pytest
from horizon_flow_store_sqlite import DIRECT_RUN_ID, SQLiteFlowStore, SQLiteOptions, verify_store

from horizon_flow_core.components import FindingQuery, RunCounts, RunInfo
from horizon_flow_core.errors import StoreError
from horizon_flow_core.metrics import Registry


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def committed(path: Path, table: str = "findings") -> int:
    """Rows of ``table`` visible to another connection, i.e. committed."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def run_info(run_id: str) -> RunInfo:
    return RunInfo(run_id=run_id, mode="scan", config_hash="c0ffee", feed="feed.jsonl",
                   feed_sha256="ab" * 32, plugins={"horizon-flow": "0.1.0"}, started_wall_ns=1)


def test_flushes_when_the_batch_is_full(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    opts = SQLiteOptions(batch_size=10, flush_interval_s=3600, flush_timer=False)
    store = SQLiteFlowStore(db, options=opts)
    for i in range(9):
        store.write_finding(finding(i))
    assert committed(db) == 0 and store.pending == 9
    store.write_finding(finding(9))
    assert committed(db) == 10 and store.pending == 0
    for i in range(10, 25):
        store.write_finding(finding(i))
    assert committed(db) == 20
    assert store.stats.flushes == 2
    store.close()
    assert committed(db) == 25


def test_flushes_when_the_oldest_write_is_due(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    clock = FakeClock()
    store = SQLiteFlowStore(db, options=SQLiteOptions(batch_size=1000, flush_interval_s=1.0,
                                                      flush_timer=False), clock=clock)
    store.write_finding(finding(0))
    clock.now += 0.5
    store.write_finding(finding(1))
    assert committed(db) == 0
    clock.now += 0.5  # the first write is now 1 s old
    store.write_finding(finding(2))
    assert committed(db) == 3
    clock.now += 5.0  # a new batch starts its own clock
    store.write_finding(finding(3))
    assert committed(db) == 3
    store.close()
    assert committed(db) == 4


def test_background_timer_flushes_a_quiet_store(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    store = SQLiteFlowStore(db, options=SQLiteOptions(batch_size=1000, flush_interval_s=0.05))
    store.write_finding(finding(0))
    deadline = time.monotonic() + 10
    while committed(db) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert committed(db) == 1 and store.pending == 0
    store.close()


def test_interval_zero_flushes_every_write(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    with SQLiteFlowStore(f"sqlite:///{db}?flush_interval_s=0") as store:
        store.write_finding(finding(0))
        assert committed(db) == 1


def test_profiles_are_batched_and_upserted(tmp_path: Path, profile, rows) -> None:
    db = tmp_path / "flow.db"
    store = SQLiteFlowStore(db, options=SQLiteOptions(batch_size=3, flush_interval_s=3600,
                                                      flush_timer=False))
    store.upsert_profile(profile("a", 1))
    store.upsert_profile(profile("a", 2))  # same key: coalesced in the batch
    store.upsert_profile(profile("b", 1))
    assert rows(db, "actor_profiles", "venue, actor_id") == []
    store.upsert_profile(profile("c", 1))  # third distinct key: the batch is full
    got = rows(db, "actor_profiles", "venue, actor_id")
    assert [(r[1], r[2]) for r in got] == [("a", 2), ("b", 1), ("c", 1)]
    store.upsert_profile(profile("a", 9, venue="kalshi"))
    store.flush()
    assert [p.venue for p in store.profiles("a")] == ["hyperliquid", "kalshi"]
    assert store.profiles("a", venue="kalshi")[0].event_count == 9
    store.close()


def test_an_older_profile_never_overwrites_a_newer_one(tmp_path: Path, profile) -> None:
    with SQLiteFlowStore(tmp_path / "flow.db") as store:
        store.upsert_profile(profile("a", 50, ts=5_000))
        store.flush()
        store.upsert_profile(profile("a", 10, ts=1_000))  # e.g. a replay of last week
        store.flush()
        assert store.profiles("a")[0].event_count == 50
        store.upsert_profile(profile("a", 60, ts=5_000))  # same time: the later write wins
        store.flush()
        (p,) = store.profiles("a")
        assert (p.event_count, p.features, p.last_updated_seq) == (60, profile("a", 60).features,
                                                                    60)


def profile_count(path: Path) -> int:
    return committed(path, "actor_profiles")


def test_a_recorded_feed_run_holds_profiles_until_the_replay_batch(tmp_path: Path, profile,
                                                                   finding) -> None:
    db = tmp_path / "flow.db"
    clock = FakeClock()
    opts = SQLiteOptions(batch_size=3, flush_interval_s=1.0, flush_timer=False,
                         replay_profile_batch=5)
    store = SQLiteFlowStore(db, options=opts, clock=clock)
    store.begin_run(run_info("scan-1"))
    for i in range(4):  # past batch_size, and past the clock: still buffered
        store.upsert_profile(profile(f"a{i}", 1))
        clock.now += 10.0
    assert profile_count(db) == 0 and store.pending == 4
    store.upsert_profile(profile("a0", 2))  # an actor already buffered: replaced, not added
    assert profile_count(db) == 0 and store.pending == 4
    store.upsert_profile(profile("a4", 1))  # the fifth distinct actor: the batch is written
    assert profile_count(db) == 5 and store.pending == 0
    assert store.profiles("a0")[0].event_count == 2
    store.upsert_profile(profile("b", 1))
    store.write_finding(finding(1))  # a findings flush writes the profiles held with it
    for i in range(2, 4):
        store.write_finding(finding(i))
    assert committed(db) == 3 and profile_count(db) == 6
    store.upsert_profile(profile("c", 1))
    store.finish_run("scan-1", RunCounts(findings=3, profiles=8))
    assert profile_count(db) == 7
    # after the run, profiles are back on the batch_size and clock cadence
    store.upsert_profile(profile("d", 1))
    clock.now += 1.0
    store.upsert_profile(profile("e", 1))
    assert profile_count(db) == 9
    store.close()


@pytest.mark.parametrize("mode, replay_batch", [("run", 100), ("scan", 0)])
def test_live_runs_and_replay_batch_zero_keep_the_clock(tmp_path: Path, profile, mode: str,
                                                        replay_batch: int) -> None:
    db = tmp_path / "flow.db"
    clock = FakeClock()
    opts = SQLiteOptions(batch_size=3, flush_interval_s=1.0, flush_timer=False,
                         replay_profile_batch=replay_batch)
    store = SQLiteFlowStore(db, options=opts, clock=clock)
    store.begin_run(attrs.evolve(run_info("r"), mode=mode))
    store.upsert_profile(profile("a", 1))
    clock.now += 1.0  # the daemon's profiles are visible within flush_interval_s
    store.upsert_profile(profile("b", 1))
    assert profile_count(db) == 2
    for actor in ("c", "d"):
        store.upsert_profile(profile(actor, 1))
    store.upsert_profile(profile("e", 1))  # batch_size distinct actors
    assert profile_count(db) == 5
    store.close()


def test_a_large_batch_leaves_the_table_as_flushing_each_profile_would(tmp_path: Path,
                                                                      profile, rows) -> None:
    """Within the batch an older snapshot never replaces a newer one (the upsert's rule)."""
    writes = [profile("a", 50, ts=5_000), profile("a", 10, ts=1_000),
              profile("b", 3, ts=2_000), profile("b", 4, ts=2_000), profile("c", 7, ts=9)]
    tables = []
    for name, per_write in (("one-by-one", True), ("batched", False)):
        db = tmp_path / f"{name}.db"
        with SQLiteFlowStore(db, options=SQLiteOptions(batch_size=1000, flush_timer=False,
                                                       flush_interval_s=3600)) as store:
            store.begin_run(run_info("scan"))
            for p in writes:
                store.upsert_profile(p)
                if per_write:
                    store.flush()
            store.finish_run("scan", RunCounts(profiles=len(writes)))
        tables.append(rows(db, "actor_profiles", "venue, actor_id"))
    assert tables[0] == tables[1]
    assert [(r[1], r[2]) for r in tables[1]] == [("a", 50), ("b", 4), ("c", 7)]


def test_duplicates_are_stored_once_and_counted_once(tmp_path: Path, finding, rows) -> None:
    db = tmp_path / "flow.db"
    with SQLiteFlowStore(db) as store:
        store.begin_run(run_info("r1"))
        for i in (0, 1, 1, 2, 0):
            store.write_finding(finding(i))
        store.finish_run("r1", RunCounts(events=10, findings=5))
    with SQLiteFlowStore(db) as store:  # a rerun of the same feed
        store.begin_run(run_info("r2"))
        for i in range(4):
            store.write_finding(finding(i))
        store.finish_run("r2", RunCounts(events=10, findings=4))
        runs = {r["run_id"]: r for r in store.runs()}
    assert [r[1] for r in rows(db, "findings", "pos")] == [finding(i).id for i in (0, 1, 2, 3)]
    assert (runs["r1"]["findings"], runs["r1"]["findings_new"]) == (5, 3)
    assert (runs["r2"]["findings"], runs["r2"]["findings_new"]) == (4, 1)
    assert runs["r2"]["status"] == "finished" and runs["r2"]["plugins"] == {"horizon-flow":
                                                                            "0.1.0"}
    assert verify_store(db) == []


def test_a_duplicate_keeps_the_first_stored_version(tmp_path: Path, finding) -> None:
    first = finding(1)
    # Same content id (severity is not part of it), different severity: the first one stays.
    second = attrs.evolve(first, severity="critical")
    with SQLiteFlowStore(tmp_path / "flow.db") as store:
        store.write_finding(first)
        store.write_finding(second)
        (got,) = store.findings()
    assert got == first


def test_writes_outside_a_run_are_accounted_to_the_direct_run(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    with SQLiteFlowStore(db) as store:
        store.write_finding(finding(1))
        store.flush()
        store.begin_run(run_info("r1"))
        store.write_finding(finding(2))
        store.finish_run("r1", RunCounts(findings=1))
        store.write_finding(finding(3))
        store.write_finding(finding(3))
        counts = {r["run_id"]: r["findings_new"] for r in store.runs()}
    assert counts == {DIRECT_RUN_ID: 2, "r1": 1}
    assert verify_store(db) == []


def test_begin_run_flushes_into_the_previous_run(tmp_path: Path, finding) -> None:
    opts = SQLiteOptions(batch_size=100, flush_timer=False, flush_interval_s=3600)
    with SQLiteFlowStore(tmp_path / "flow.db", options=opts) as store:
        store.begin_run(run_info("r1"))
        store.write_finding(finding(1))
        store.begin_run(run_info("r2"))
        store.write_finding(finding(2))
        store.write_finding(finding(3))
        store.finish_run("r2", RunCounts(findings=2))
        counts = {r["run_id"]: (r["findings_new"], r["status"]) for r in store.runs()}
    assert counts == {"r1": (1, "running"), "r2": (2, "finished")}


def test_finishing_an_unknown_run_is_a_clear_error(tmp_path: Path) -> None:
    with SQLiteFlowStore(tmp_path / "flow.db") as store:
        with pytest.raises(StoreError, match="no run 'nope' was begun"):
            store.finish_run("nope", RunCounts())


def test_a_finding_whose_id_does_not_match_its_content_is_refused(tmp_path: Path,
                                                                  finding) -> None:
    forged = attrs.evolve(finding(1), evidence={"i": 2})
    with SQLiteFlowStore(tmp_path / "flow.db") as store:
        with pytest.raises(StoreError, match="id does not match its content"):
            store.write_finding(forged)
        unfinalised = attrs.evolve(finding(1), id="")
        store.write_finding(unfinalised)  # gets its content id
        assert [f.id for f in store.findings()] == [finding(1).id]


def test_unserializable_evidence_is_a_clear_error(tmp_path: Path, finding) -> None:
    bad = attrs.evolve(finding(1), evidence={"x": object()}, id="")
    with SQLiteFlowStore(tmp_path / "flow.db") as store:
        with pytest.raises(StoreError, match="evidence is not JSON-serializable"):
            store.write_finding(bad)
        assert store.pending == 0


def test_read_only_store_refuses_writes(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    SQLiteFlowStore(db).close()
    with SQLiteFlowStore(db, read_only=True) as store:
        with pytest.raises(StoreError, match="opened read-only"):
            store.write_finding(finding(1))


def test_closed_store_refuses_use(tmp_path: Path, finding) -> None:
    store = SQLiteFlowStore(tmp_path / "flow.db")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.write_finding(finding(1))
    with pytest.raises(StoreError, match="closed"):
        list(store.findings(FindingQuery()))


def test_metrics_report_flushes(tmp_path: Path, finding) -> None:
    registry = Registry()
    with SQLiteFlowStore(tmp_path / "flow.db") as store:
        store.attach_metrics(registry)
        for i in range(3):
            store.write_finding(finding(i))
        store.flush()
    text = registry.render()
    assert "flow_store_flush_seconds_count 1" in text
    assert "flow_store_findings_written_total 3" in text
