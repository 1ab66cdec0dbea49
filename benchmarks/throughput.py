"""Replay throughput of the full pipeline against merely parsing the same file.

The headline figure is the ratio ``pipeline events/s / orjson events/s``, both
in CPU time on the same feed file in the same process: absolute rates depend
on the machine (and on whatever else it runs), the ratio much less so.

* **parse**: read the feed log line by line and ``orjson.loads`` each line;
* **core**: read and validate the events and run them through an engine
  with no components (dispatch, per-market state, the live book);
* **pipeline**: :func:`horizon_flow_core.runner.run_scan` from the file on
  disk: all built-in detectors, the Kirilenko profiler and taxonomy, a
  SQLite flow store and a SQLite audit log (the default pipeline of
  ``flow scan``).

CPU time is ``time.process_time`` (every thread of the process, so work moved
to a writer thread still counts); best of ``repeat`` runs. Wall time is
reported beside it.
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from benchmarks.machine import load_average
from benchmarks.pipeline import bench_config, scan


def _best(fn: Any, repeat: int) -> tuple[float, float, Any]:
    """(best CPU s, wall s of that run, result of that run)."""
    best: tuple[float, float, Any] | None = None
    for _ in range(repeat):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        if best is None or cpu < best[0]:
            best = (cpu, wall, result)
    assert best is not None
    return best


def parse_only(feed: Path) -> int:
    n = 0
    loads = orjson.loads
    with feed.open("rb") as fh:
        for line in fh:
            loads(line)
            n += 1
    return n


def core_only(feed: Path) -> int:
    from horizon_flow_core.engine import FlowEngine
    from horizon_flow_core.feeds.reader import read_feed_log

    engine = FlowEngine(bench_config())
    ingest = engine.ingest
    for ev in read_feed_log(feed):
        ingest(ev)
    return engine.ingest_count


def measure(feed: Path, *, repeat: int = 3, pipeline_repeat: int | None = None,
            workdir: Path | None = None, core: bool = True) -> dict[str, Any]:
    """Parse, core and pipeline rates on ``feed`` and the headline ratio."""
    out: dict[str, Any] = {"feed": feed.name, "load_average_before": load_average()}
    cpu, wall, n = _best(lambda: parse_only(feed), max(repeat, 3))
    out["events"] = n
    out["parse"] = _rates(n, cpu, wall)
    if core:
        cpu, wall, _ = _best(lambda: core_only(feed), repeat)
        out["core"] = _rates(n, cpu, wall)
    with tempfile.TemporaryDirectory(prefix="hf-bench-", dir=workdir) as tmp:
        cpu, wall, summary = _best(lambda: scan(feed, Path(tmp)),
                                   pipeline_repeat or repeat)
    out["pipeline"] = _rates(summary.events, cpu, wall)
    out["pipeline"].update(findings=summary.findings, profiles=summary.profiles,
                           by_category=summary.by_category,
                           findings_digest=summary.findings_digest)
    out["ratio"] = round(out["pipeline"]["events_per_cpu_s"] / out["parse"]["events_per_cpu_s"],
                         5)
    out["ratio_wall"] = round(out["pipeline"]["events_per_wall_s"]
                              / out["parse"]["events_per_wall_s"], 5)
    out["load_average_after"] = load_average()
    return out


def _rates(n: int, cpu: float, wall: float) -> dict[str, Any]:
    return {"cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
            "events_per_cpu_s": round(n / cpu) if cpu > 0 else None,
            "events_per_wall_s": round(n / wall) if wall > 0 else None,
            "us_per_event_cpu": round(cpu / n * 1e6, 2) if n else None}


#: The short benchmark of the CI regression check (tests/test_bench_regression.py):
#: a few seconds, the same shape of flow as the full run.
REGRESSION_SPEC_ARGS: dict[str, Any] = {"events": 30_000, "markets": 10, "actors": 500,
                                        "seed": 3, "episodes_every_s": 3.0}


def regression_ratio(*, repeat: int = 3, workdir: Path | None = None) -> dict[str, Any]:
    """The headline ratio on the short regression feed (generated on first use)."""
    from benchmarks.feeds import FeedSpec, feed_file

    feed = feed_file(FeedSpec(**REGRESSION_SPEC_ARGS), workdir)
    result = measure(feed, repeat=repeat, core=False, workdir=workdir)
    # parsing 30k lines takes tens of ms: its best of many runs is the stable figure
    cpu, wall, n = _best(lambda: parse_only(feed), 15)
    result["parse"] = _rates(n, cpu, wall)
    result["ratio"] = round(result["pipeline"]["events_per_cpu_s"]
                            / result["parse"]["events_per_cpu_s"], 5)
    return result
