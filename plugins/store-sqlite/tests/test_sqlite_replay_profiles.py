"""A scan holds actor profiles for its replay batch: the stored tables are the same as
when every profile follows the flush clock, with fewer profile rows written."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from horizon_flow_core.config import FlowConfig
from horizon_flow_core.plugin_manager import get_plugin_manager
from horizon_flow_core.runner import run_scan
from horizon_flow_core.synthetic import generate_stream
from horizon_flow_core.synthetic.feed import write_feed


def _tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {"profiles": conn.execute(
                    "SELECT * FROM actor_profiles ORDER BY venue, actor_id").fetchall(),
                "findings": conn.execute("SELECT * FROM findings ORDER BY pos").fetchall(),
                "written": conn.execute("SELECT profiles_written FROM runs").fetchall()}
    finally:
        conn.close()


def test_scan_tables_equal_with_and_without_the_replay_batch(tmp_path: Path) -> None:
    pytest.importorskip("horizon_flow_detectors_builtin",
                        reason="the profiles come from the built-in Kirilenko profiler")
    feed = tmp_path / "day.jsonl"
    # many actors, each profiled several times (first event, then every 50):
    # batch_size=20 makes the clock-cadence run flush profiles many times over
    write_feed(feed, generate_stream(seed=5, n_events=12_000, n_markets=4, n_actors=150,
                                     episodes_every_s=4.0))
    config = FlowConfig()
    pm = get_plugin_manager(config.plugins)
    got = {}
    for name, query in (("replay-batch", "?batch_size=20"),
                        ("clock", "?batch_size=20&replay_profile_batch=0")):
        out = tmp_path / name
        out.mkdir()
        summary = run_scan(feed, config=config, pm=pm, db=f"sqlite:///{out}/flow.db{query}",
                           audit_db=str(out / "audit.db"))
        got[name] = (_tables(out / "flow.db"), summary.audit_head, summary.findings_digest)
    (held, held_head, held_digest), (clock, clock_head, clock_digest) = got.values()
    assert held["profiles"] and held["findings"]  # the comparison has something in it
    assert held["profiles"] == clock["profiles"]
    assert held["findings"] == clock["findings"]
    assert (held_head, held_digest) == (clock_head, clock_digest)
    # the point of holding them: each actor's row written about once, not per flush
    assert held["written"][0][0] == len(held["profiles"])
    assert clock["written"][0][0] > 2 * len(clock["profiles"])
