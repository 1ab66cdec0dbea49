"""Peak memory as markets and actors grow, and over a long run with actor churn.

Each configuration runs in its own subprocess (``python -m benchmarks.memory
--child ...``) so one configuration's heap never inflates another's figure.
A child builds the default engine (every built-in detector and the profiler;
no store, whose memory is SQLite's bounded page cache) and reports its peak
resident set size (sampled from ``/proc/self/statm`` as it goes) and, beside
it, its resident size before the first event (interpreter, plugins,
engine): the difference is the state the events left behind.

* **scale**: a deterministic workload in which every one of ``actors`` actors
  places an order in one of ``markets`` markets (each market with a book
  snapshot and deltas) and has it filled or cancelled, all within a few
  minutes of market time, so every actor and market is *recently active*
  and nothing may be evicted: memory must grow linearly with them;
* **churn**: a seeded synthetic stream (``generate_stream``) over hours of
  market time in which new traders keep arriving and leaving; with idle
  horizons shorter than the run the state must stop growing. Samples of
  resident size and state sizes over time show it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
START_TS = 1_736_172_000 * 1_000_000_000


def _rss_mb() -> float:
    """Current resident set size in MB (Linux ``/proc/self/statm``), else the peak so far.

    Not ``ru_maxrss`` alone: Linux keeps it across ``exec``, so a child started by a
    big parent would report the parent's size.
    """
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


# ---------------------------------------------------------------------- workloads


def scale_events(markets: int, actors: int, levels: int = 10) -> Iterator[Any]:
    """Every market gets a book; every actor places one order, then has it filled
    (one in three, against a maker) or cancels it. ~2.4 events per actor, ~1 ms apart."""
    from horizon_flow_core.events import MarketEvent

    ts = START_TS
    mids = [f"mem-market-{i:05d}" for i in range(markets)]
    for m in mids:
        ts += 1_000
        bids = [(round(0.49 - 0.01 * k, 2), 100.0) for k in range(levels)]
        asks = [(round(0.51 + 0.01 * k, 2), 100.0) for k in range(levels)]
        yield MarketEvent("memory", m, "book.snapshot", ts, bids=bids, asks=asks)
    for i in range(actors):
        m = mids[i % markets]
        actor = f"0x{i:040x}"
        oid = f"o{i}"
        side = "buy" if i % 2 else "sell"
        price = 0.49 if side == "buy" else 0.51
        ts += 50_000
        yield MarketEvent("memory", m, "order.placed", ts, actor_id=actor, order_id=oid,
                          side=side, price=price, size=10.0 + i % 7)
        ts += 50_000
        if i % 3 == 0:
            maker = f"0x{(i + 1) % actors:040x}"
            yield MarketEvent("memory", m, "order.filled", ts, actor_id=actor,
                              counterparty_id=maker, order_id=oid, side=side, price=price,
                              size=10.0, aggressor=True)
            yield MarketEvent("memory", m, "trade.tape", ts, side=side, price=price, size=10.0)
        else:
            yield MarketEvent("memory", m, "order.canceled", ts, actor_id=actor, order_id=oid,
                              side=side, price=price, size=10.0 + i % 7)
        if i % 5 == 0:
            yield MarketEvent("memory", m, "book.delta", ts, side=side, price=price,
                              size=100.0 + i % 13)


def state_sizes(engine: Any) -> dict[str, int]:
    """Live state: markets in the engine, actors in the profilers, entries in detectors."""
    def entries(obj: Any, depth: int = 0) -> int:
        total = 0
        for v in vars(obj).values():
            if isinstance(v, dict | deque | list | set):
                total += len(v)
            elif depth == 0 and hasattr(v, "__dict__") and hasattr(v, "evict_idle"):
                total += entries(v, 1)  # a helper with its own state (level trackers)
        return total

    profilers = [s.component for s in engine.supervisor.components if s.kind == "profiler"]
    return {"live_markets": engine.market_count,
            "live_actors": sum(getattr(p, "actor_count", 0) for p in profilers),
            "detector_entries": sum(entries(d) for d in engine.detectors)}


# ---------------------------------------------------------------------- children


def child_scale(markets: int, actors: int) -> dict[str, Any]:
    from benchmarks.pipeline import build_engine

    engine = build_engine()
    gc.collect()
    base = peak = _rss_mb()
    n = 0
    t0 = time.process_time()
    ingest = engine.ingest
    for ev in scale_events(markets, actors):
        ingest(ev)
        n += 1
        if n % 2000 == 0:  # sampled: the peak is the largest sample
            peak = max(peak, _rss_mb())
    cpu = time.process_time() - t0
    gc.collect()
    end = _rss_mb()
    peak = max(peak, end)
    return {"markets": markets, "actors": actors, "events": n, "baseline_mb": round(base, 1),
            "peak_mb": round(peak, 1), "end_mb": round(end, 1),
            "state_mb": round(peak - base, 1),
            "us_per_event_cpu": round(cpu / n * 1e6, 2), **state_sizes(engine)}


def child_churn(feed: str, samples: int, config: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.pipeline import bench_config, build_engine
    from horizon_flow_core.config.model import ActorsConfig, EngineConfig, WindowsConfig
    from horizon_flow_core.feeds.reader import read_feed_log

    cfg = bench_config(windows=WindowsConfig(long_s=config["long_s"]),
                       actors=ActorsConfig(idle_evict_s=config["idle_evict_s"]),
                       engine=EngineConfig(evict_every_events=config["evict_every_events"]))
    total = sum(1 for _ in Path(feed).open("rb"))
    every = max(1, total // samples)
    # distinct actors up to each sample, counted in a first pass and then dropped, so
    # the benchmark's own bookkeeping does not grow the process it measures
    distinct: list[int] = []
    seen: set[str] = set()
    for n, ev in enumerate(read_feed_log(feed), start=1):
        if ev.actor_id is not None:
            seen.add(ev.actor_id)
        if n % every == 0 or n == total:
            distinct.append(len(seen))
    del seen
    engine = build_engine(cfg)
    gc.collect()
    base = _rss_mb()
    out: list[dict[str, Any]] = []
    first_ts = None
    ingest = engine.ingest
    for n, ev in enumerate(read_feed_log(feed), start=1):
        ingest(ev)
        if first_ts is None:
            first_ts = ev.ts
        if n % every == 0 or n == total:
            gc.collect()
            out.append({"events": n, "market_hours": round((ev.ts - first_ts) / 3.6e12, 2),
                        "rss_mb": round(_rss_mb(), 1), "distinct_actors": distinct[len(out)],
                        **state_sizes(engine)})
    return {"feed": Path(feed).name, "config": config, "baseline_mb": round(base, 1),
            "samples": out}


# ---------------------------------------------------------------------- parent


def _run_child(args: list[str], timeout: float = 3600.0) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--child", *args],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child {args} failed: {proc.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def measure_scale(markets: list[int], actors: list[int], *, fixed_markets: int = 100,
                  fixed_actors: int = 10_000) -> dict[str, Any]:
    """Peak memory with markets growing (actors fixed) and actors growing (markets fixed)."""
    by_markets = [_run_child(["scale", str(m), str(fixed_actors)]) for m in markets]
    by_actors = [_run_child(["scale", str(fixed_markets), str(a)]) for a in actors]
    return {"by_markets": by_markets, "by_actors": by_actors,
            "per_market_kb": _slope(by_markets, "markets"),
            "per_actor_kb": _slope(by_actors, "actors")}


def _slope(rows: list[dict[str, Any]], key: str) -> float | None:
    """KB of state per unit between the smallest and the largest configuration."""
    if len(rows) < 2:
        return None
    a, b = rows[0], rows[-1]
    if b[key] == a[key]:
        return None
    slope: float = (b["state_mb"] - a["state_mb"]) * 1e3 / (b[key] - a[key])
    return round(slope, 3)


def measure_churn(feed: Path, *, samples: int = 12, long_s: float = 600.0,
                  idle_evict_s: float = 900.0, evict_every_events: int = 10_000
                  ) -> dict[str, Any]:
    config = {"long_s": long_s, "idle_evict_s": idle_evict_s,
              "evict_every_events": evict_every_events}
    return _run_child(["churn", str(feed), str(samples), json.dumps(config)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="memory benchmark child (used by run.py)")
    ap.add_argument("--child", nargs="+", required=True)
    args = ap.parse_args(argv)
    mode, *rest = args.child
    if mode == "scale":
        result = child_scale(int(rest[0]), int(rest[1]))
    elif mode == "churn":
        result = child_churn(rest[0], int(rest[1]), json.loads(rest[2]))
    else:
        raise SystemExit(f"unknown child mode {mode!r}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
