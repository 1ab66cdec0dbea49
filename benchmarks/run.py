"""Run horizon-flow's benchmark suite and print the results.

    python benchmarks/run.py [--quick] [--json out.json] [--only throughput,latency,...]

Sections (all by default): ``throughput`` (full pipeline against parsing
alone: the headline ratio), ``latency`` (live mode, p50/p99/p99.9),
``memory`` (as markets and actors grow, and under actor churn), ``storm``
(stores under a finding storm), ``detectors`` (each component's own cost).

Feeds are seeded synthetic streams (``horizon_flow_core.synthetic``),
generated once and cached in ``$HORIZON_FLOW_BENCH_CACHE`` (default: a
``horizon-flow-bench`` directory under the system temp dir). The full run
takes several minutes; ``--quick`` about one. Timings are CPU time, best of
several runs where the section allows it, with the load average printed
beside them: on a shared machine CPU time is the steadier figure.
``--record-baseline`` writes ``benchmarks/baseline.json`` (the ratios the CI
regression check compares against).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.feeds import FeedSpec, describe, feed_file  # noqa: E402
from benchmarks.machine import machine_info  # noqa: E402

SECTIONS = ("throughput", "latency", "memory", "storm", "detectors")
BASELINE = Path(__file__).resolve().parent / "baseline.json"

#: (full, quick) settings of every section
FULL: dict[str, Any] = {
    "feed": FeedSpec(events=1_000_000, markets=200, actors=20_000, seed=7,
                     churn_per_hour=20_000, lifetime_s=600, episodes_every_s=10.0),
    "repeat": 2, "latency_events": 200_000, "latency_warmup": 20_000,
    "memory_markets": [100, 1_000, 10_000], "memory_actors": [10_000, 100_000, 1_000_000],
    "churn_feed": FeedSpec(events=1_000_000, markets=4, actors=100, seed=5,
                           churn_per_hour=20_000, lifetime_s=120, episodes_every_s=60.0),
    "storm_events": 200_000, "detector_events": 200_000, "detector_repeat": 3,
}
QUICK: dict[str, Any] = {
    "feed": FeedSpec(events=100_000, markets=50, actors=5_000, seed=7,
                     churn_per_hour=20_000, lifetime_s=600, episodes_every_s=10.0),
    "repeat": 2, "latency_events": 50_000, "latency_warmup": 10_000,
    "memory_markets": [100, 1_000], "memory_actors": [10_000, 50_000],
    "churn_feed": FeedSpec(events=250_000, markets=4, actors=100, seed=5,
                           churn_per_hour=20_000, lifetime_s=120, episodes_every_s=60.0),
    "storm_events": 50_000, "detector_events": 50_000, "detector_repeat": 2,
}


def _events(feed: Path, n: int) -> list[Any]:
    from horizon_flow_core.feeds.reader import read_feed_log

    return list(itertools.islice(read_feed_log(feed), n))


def _mem_available_mb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1e3
    except OSError:
        pass
    return None


def run(sections: list[str], settings: dict[str, Any], log: Any) -> dict[str, Any]:
    from benchmarks import detector_cost, latency, memory, storm, throughput
    from benchmarks.pipeline import bench_config, plugin_manager

    results: dict[str, Any] = {"machine": machine_info()}
    feed = None
    if {"throughput", "latency", "storm", "detectors"} & set(sections):
        t = time.perf_counter()
        feed = feed_file(settings["feed"])
        results["feed"] = {"spec": settings["feed"].name, **describe(feed)}
        log(f"feed {feed.name}: {results['feed']['events']:,} events, "
            f"{results['feed']['markets']} markets, {results['feed']['actors']:,} actors, "
            f"{results['feed']['market_time_s']:g} s of market time "
            f"(ready in {time.perf_counter() - t:.0f} s)")
    if "throughput" in sections:
        assert feed is not None
        log("throughput: parse, core, full pipeline ...")
        results["throughput"] = throughput.measure(feed, repeat=settings["repeat"])
    if "latency" in sections:
        assert feed is not None
        log("latency: live mode ...")
        events = _events(feed, settings["latency_events"])
        results["latency"] = latency.measure(events, warmup=settings["latency_warmup"])
        log("latency: live mode, long-lived state frozen out of the GC every 20,000 events ...")
        results["latency_gc_freeze"] = latency.measure(events, warmup=settings["latency_warmup"],
                                                       freeze_every=20_000)
        del events
    if "storm" in sections:
        assert feed is not None
        log("storm: findings on every 2nd placement ...")
        results["storm"] = storm.measure(_events(feed, settings["storm_events"]))
    if "detectors" in sections:
        assert feed is not None
        log("detectors: each component alone ...")
        cfg = bench_config()
        results["detectors"] = detector_cost.detector_costs(
            _events(feed, settings["detector_events"]), cfg, plugin_manager(cfg),
            repeat=settings["detector_repeat"])
    if "memory" in sections:
        log("memory: markets and actors growing (a subprocess each) ...")
        actors = list(settings["memory_actors"])
        scale = memory.measure_scale(settings["memory_markets"], actors[:2])
        if len(actors) > 2:
            # the largest configuration only where it fits with room to spare: the
            # machine may be shared (the estimate extrapolates the measured slope)
            per_actor_mb = (scale.get("per_actor_kb") or 10.0) / 1e3
            need = max(actors[2:]) * per_actor_mb * 1.25
            avail = _mem_available_mb()
            if avail is None or need < 0.6 * avail:
                extra = memory.measure_scale([], actors[2:])
                scale["by_actors"] += extra["by_actors"]
                scale["per_actor_kb"] = memory._slope(scale["by_actors"], "actors")
            else:
                scale["skipped"] = (f"{max(actors[2:]):,} actors skipped: ~{need:,.0f} MB "
                                    f"needed, {avail:,.0f} MB available")
        results["memory"] = scale
        log("memory: long run with actor churn ...")
        churn_feed = feed_file(settings["churn_feed"])
        results["memory"]["churn"] = memory.measure_churn(churn_feed)
    return results


# ---------------------------------------------------------------------- report


def report(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [f"machine: {m['cpu']}, {m['nproc']} CPU(s), Python {m['python']}, "
             f"load average {m['load_average']}"]
    if "feed" in r:
        f = r["feed"]
        lines.append(f"feed: {f['spec']}: {f['events']:,} events "
                     f"({', '.join(f'{k} {v:,}' for k, v in f['by_kind'].items())}), "
                     f"{f['markets']} markets, {f['actors']:,} actors")
    if "throughput" in r:
        t = r["throughput"]
        lines.append("")
        lines.append("throughput (CPU time, best of runs)        events/s   us/event")
        for key, label in (("parse", "orjson parse only"), ("core", "core (parse, build, ingest)"),
                           ("pipeline", "full pipeline (flow scan)")):
            if key in t:
                lines.append(f"  {label:38s} {t[key]['events_per_cpu_s']:>10,} "
                             f"{t[key]['us_per_event_cpu']:>10}")
        lines.append(f"  headline ratio pipeline/parse: {t['ratio']:.4f} "
                     f"(wall-clock {t['ratio_wall']:.4f}); pipeline wall "
                     f"{t['pipeline']['events_per_wall_s']:,} events/s; "
                     f"{t['pipeline']['findings']} findings, {t['pipeline']['profiles']:,} "
                     f"profiles; load {t['load_average_before']} -> {t['load_average_after']}")
    if "latency" in r:
        lat = r["latency"]
        lines.append("")
        lines.append(f"live latency ({lat['measured_events']:,} events at "
                     f"{lat['offered_rate']:,.0f}/s offered, {lat['batch']} per hand-off)"
                     "   p50     p99   p99.9     max  (us)")
        for run_key, title in (("latency", "default GC"),
                               ("latency_gc_freeze", "gc.freeze() every 20,000 events")):
            if run_key not in r:
                continue
            lat = r[run_key]
            for key in ("ingest", "queued"):
                p = lat[key]
                label = f"{key} ({title})"
                lines.append(f"  {label:58s} {p['p50_us']:>6} {p['p99_us']:>7} "
                             f"{p['p999_us']:>7} {p['max_us']:>7}")
            pauses = ", ".join(f"{g} {v['count']} (max {v['max_ms']} ms)"
                               for g, v in lat.get("gc_pauses", {}).items())
            lines.append(f"    achieved {lat['achieved_rate']:,} events/s; GC pauses: {pauses}; "
                         f"load {lat['load_average_before']} -> {lat['load_average_after']}")
    if "storm" in r:
        s = r["storm"]
        lines.append("")
        lines.append(f"finding storm: {s['findings']:,} findings in {s['events']:,} events: "
                     f"{s['findings_per_cpu_s']:,} findings/s, {s['events_per_cpu_s']:,} "
                     f"events/s (CPU); {s.get('flushes', 0)} flushes")
        lines.append(f"  write_finding call p50/p99/p99.9/max: {s['write_call']['p50_us']} / "
                     f"{s['write_call']['p99_us']} / {s['write_call']['p999_us']} / "
                     f"{s['write_call']['max_us']} us")
        if "flush" in s:
            lines.append(f"  flush (one batch) p50/max: {s['flush']['p50_us'] / 1000:.1f} / "
                         f"{s['flush']['max_us'] / 1000:.1f} ms")
    if "detectors" in r:
        d = r["detectors"]
        lines.append("")
        lines.append(f"component cost per event ({d['events']:,} events; core alone "
                     f"{d['core_us_per_event']} us/event)      us/event  us/call")
        for row in d["components"]:
            lines.append(f"  {row['kind']:9s} {row['name']:40s} {row['us_per_event']:>8} "
                         f"{row['us_per_call'] if row['us_per_call'] is not None else '-':>8}")
        lines.append(f"  sum of the above {d['components_us_per_event']} us/event; all of them "
                     f"in one engine {d['together_us_per_event']} us/event")
    if "memory" in r:
        mem = r["memory"]
        lines.append("")
        lines.append("memory (peak RSS of a subprocess; state = peak - before the first event)")
        for row in mem["by_markets"] + mem["by_actors"]:
            lines.append(f"  {row['markets']:>6,} markets {row['actors']:>9,} actors: state "
                         f"{row['state_mb']:>8,.1f} MB (peak {row['peak_mb']:,.0f} MB)")
        lines.append(f"  per market {mem['per_market_kb']} KB, per actor {mem['per_actor_kb']} KB")
        if "skipped" in mem:
            lines.append(f"  {mem['skipped']}")
        churn = mem.get("churn")
        if churn:
            lines.append(f"  churn ({churn['feed']}, idle horizons {churn['config']}):")
            lines.append("     events  market h  distinct actors  live actors  detector "
                         "entries  RSS MB")
            for s in churn["samples"]:
                lines.append(f"  {s['events']:>9,} {s['market_hours']:>9} "
                             f"{s['distinct_actors']:>16,} {s['live_actors']:>12,} "
                             f"{s['detector_entries']:>17,} {s['rss_mb']:>7}")
    return "\n".join(lines)


def record_baseline(results: dict[str, Any], quick: bool) -> dict[str, Any]:
    from benchmarks.throughput import REGRESSION_SPEC_ARGS, regression_ratio

    base = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    reg = regression_ratio()
    base["regression"] = {"spec": REGRESSION_SPEC_ARGS, "ratio": reg["ratio"],
                          "pipeline_events_per_cpu_s": reg["pipeline"]["events_per_cpu_s"],
                          "parse_events_per_cpu_s": reg["parse"]["events_per_cpu_s"],
                          "machine": machine_info()}
    if "throughput" in results:
        t = results["throughput"]
        base["quick" if quick else "full"] = {
            "feed": results["feed"]["spec"], "ratio": t["ratio"],
            "pipeline_events_per_cpu_s": t["pipeline"]["events_per_cpu_s"],
            "parse_events_per_cpu_s": t["parse"]["events_per_cpu_s"],
            "machine": results["machine"]}
    BASELINE.write_text(json.dumps(base, indent=2, sort_keys=True) + "\n")
    return base


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller feeds (about a minute)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    ap.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    ap.add_argument("--record-baseline", action="store_true",
                    help=f"write the measured ratios to {BASELINE.name}")
    args = ap.parse_args(argv)
    sections = list(SECTIONS) if not args.only else [s.strip() for s in args.only.split(",")]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; expected {', '.join(SECTIONS)}")
    settings = QUICK if args.quick else FULL
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {msg}", file=sys.stderr, flush=True)

    results = run(sections, settings, log)
    results["command"] = "python benchmarks/run.py " + " ".join(argv if argv is not None
                                                               else sys.argv[1:])
    results["mode"] = "quick" if args.quick else "full"
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        log(f"results written to {args.json}")
    if args.record_baseline:
        record_baseline(results, args.quick)
        log(f"baseline written to {BASELINE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
