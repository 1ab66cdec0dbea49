"""The benchmark suite's CI check and the pieces the suite relies on.

``test_throughput_ratio_holds`` runs the short benchmark (a 30,000-event
synthetic feed through ``run_scan`` with the default plugins, against
parsing the same file with orjson) and fails when the ratio of the two
rates falls below half of the ratio recorded in ``benchmarks/baseline.json``.
It compares a ratio measured in one process, never a wall-clock limit, so a
slower or busier machine does not fail it; a change that halves the
pipeline's speed relative to parsing does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import feeds, latency, memory, storm, throughput  # noqa: E402
from benchmarks.pipeline import DEFAULT_PLUGINS, bench_config, plugin_manager  # noqa: E402

BASELINE = REPO / "benchmarks" / "baseline.json"


def _default_plugins_installed() -> bool:
    pm = plugin_manager(bench_config())
    dists = {r.distribution for r in pm.listing() if r.status == "active"}
    return set(DEFAULT_PLUGINS) <= dists


needs_plugins = pytest.mark.skipif(
    not _default_plugins_installed(),
    reason="the built-in detectors and the SQLite store plugin are not installed")


@needs_plugins
def test_throughput_ratio_holds(tmp_path: Path) -> None:
    baseline = json.loads(BASELINE.read_text())["regression"]
    assert baseline["spec"] == throughput.REGRESSION_SPEC_ARGS, (
        "the short benchmark changed: record a new baseline with "
        "python benchmarks/run.py --only throughput --record-baseline")
    result = throughput.regression_ratio(repeat=3, workdir=tmp_path)
    ratio, recorded = result["ratio"], baseline["ratio"]
    assert result["pipeline"]["events_per_cpu_s"] > 0
    assert ratio >= 0.5 * recorded, (
        f"full pipeline / orjson parse = {ratio:.4f} ({result['pipeline']['events_per_cpu_s']:,} "
        f"vs {result['parse']['events_per_cpu_s']:,} events per CPU second), below half the "
        f"recorded {recorded:.4f}: the hot path got more than twice slower")


def test_feed_cache_reuses_the_generated_file(tmp_path: Path) -> None:
    spec = feeds.FeedSpec(events=500, markets=3, actors=40, seed=9, episodes_every_s=None)
    path = feeds.feed_file(spec, tmp_path)
    first = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    assert feeds.feed_file(spec, tmp_path) == path and path.stat().st_mtime_ns == mtime
    path.unlink()
    assert feeds.feed_file(spec, tmp_path).read_bytes() == first  # seeded: same bytes again
    info = feeds.describe(path)
    assert info["events"] == 500 and info["markets"] == 3
    assert sum(info["by_kind"].values()) == 500


def test_percentiles_use_nearest_rank() -> None:
    p = latency.percentiles(list(range(1000, 1001 * 1000, 1000)))  # 1..1000 us
    assert (p["p50_us"], p["p99_us"], p["p999_us"], p["max_us"]) == (501.0, 991.0, 1000.0,
                                                                     1000.0)
    assert latency.percentiles([]) == {}


def test_storm_detector_fires_on_every_nth_placement() -> None:
    from horizon_flow_core.events import make_event

    det = storm.StormDetector(every=3)
    events = [make_event("v", "m", "order.placed", i, actor_id="a", order_id=str(i),
                         side="buy", price=0.5, size=1.0) for i in range(1, 10)]
    fired = [ev.order_id for ev in events if det.on_event(ev, None)]
    assert fired == ["3", "6", "9"]


def test_scale_workload_touches_every_actor_and_market() -> None:
    events = list(memory.scale_events(markets=7, actors=30))
    assert {ev.market_id for ev in events} == {f"mem-market-{i:05d}" for i in range(7)}
    assert len({ev.actor_id for ev in events if ev.actor_id}) == 30
    assert all(a.ts <= b.ts for a, b in zip(events, events[1:], strict=False))  # in time order


@needs_plugins
def test_memory_child_reports_state_of_a_subprocess() -> None:
    result = memory.measure_scale([], [300], fixed_markets=5)
    row = result["by_actors"][0]
    assert row["actors"] == 300 and row["live_actors"] == 300 and row["live_markets"] == 5
    assert row["peak_mb"] >= row["baseline_mb"] > 0
