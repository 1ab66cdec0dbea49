"""Does a slow alert sink slow ingest? Measures it, against real HTTP servers on 127.0.0.1.

Two views:

1. ``notify_finding`` calls per second (the engine-side cost of routing one
   finding) with no route, a fast HTTP sink, a slow one (the server sleeps
   ``--delay-ms`` per request), and the slow one with a small queue so that
   most alerts overflow
   (the overflow is counted into one digest, no I/O on the caller's thread).
2. ``FlowEngine`` events per second on a synthetic feed where every tenth
   event yields a finding, with no alert sink, with the fast sink and with the
   slow sink.

Every route here has dedupe and rate limiting off, so every finding is queued
(the worst case). Run::

    /work/venv/bin/python plugins/alert-apprise/benchmarks/bench_slow_sink.py

Figures vary with the machine; the point is the ratio between rows.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from horizon_flow_alert_apprise import AppriseRouter, RouteConfig

from horizon_flow_core import AnomalyFinding
from horizon_flow_core.engine import FlowEngine
from horizon_flow_core.testing.feed import FeedBuilder

T0 = 1_732_201_200 * 1_000_000_000


def serve(delay_s: float) -> tuple[ThreadingHTTPServer, int, list[int]]:
    hits = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if delay_s:
                time.sleep(delay_s)
            hits[0] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return srv, srv.server_address[1], hits


def route(queue_size: int) -> RouteConfig:
    return RouteConfig(url_env="BENCH_URL", dedupe_window_s=0, rate_limit=0, escalate_after=0,
                       retries=0, queue_size=queue_size, send_timeout_s=30)


def findings(n: int) -> list[AnomalyFinding]:
    return [AnomalyFinding.make(
        detector="spoofing", category="spoofing", severity="high", confidence=0.9,
        venue="polymarket", market_id=f"m{i % 50}", actor_id=f"0x{i:06x}", ts=T0 + i,
        message="bait order cancelled after the opposite fill", citation="CFTC v. Sarao",
        evidence={"bait_size": 5000.0 + i, "cancel_ms": 120.0, "imbalance": 0.43},
    ).with_identity(seq=i + 1) for i in range(n)]


def open_store(path: Path) -> Any:
    """The real SQLite flow store (dead letters in a real file)."""
    from horizon_flow_store_sqlite.flow_store import SQLiteFlowStore

    return SQLiteFlowStore(path)


def bench_notify(label: str, fs: list[AnomalyFinding], port: int | None, queue_size: int,
                 tmp: Path, close_timeout: float) -> dict[str, Any]:
    store = open_store(tmp / f"{label.replace(' ', '_').replace(',', '')}-{time.time_ns()}.db")
    routes = {} if port is None else {"bench": route(queue_size)}
    env = {"BENCH_URL": f"json://127.0.0.1:{port}/b"} if port else {}
    router = AppriseRouter(routes, environ=env, store=store, data_dir=tmp)
    t = time.perf_counter()
    for f in fs:
        router.notify_finding(f, None)
    ingest = time.perf_counter() - t
    t = time.perf_counter()
    router.close(close_timeout)
    drain = time.perf_counter() - t
    c = router.counters.get("bench")
    store.close()
    return {"label": label, "calls_per_s": len(fs) / ingest, "ingest_s": ingest,
            "close_s": drain, "sent": c.sent if c else 0,
            "dead_lettered": c.dead_lettered if c else 0, "overflow": c.overflow if c else 0}


class EveryTenth:
    name = "every_tenth"
    kinds = frozenset({"order.canceled"})

    def on_event(self, ev: Any, ctx: Any) -> list[AnomalyFinding] | None:
        return [AnomalyFinding.make(
            detector=self.name, category="spoofing", severity="high", confidence=0.9,
            market_id=ev.market_id, actor_id=ev.actor_id, message=f"cancelled {ev.size}",
            citation="bench", evidence={"size": ev.size, "order_id": ev.order_id})]


def feed(n_events: int) -> list[Any]:
    fb = FeedBuilder(venue="bench", market="M", start_ts=T0, step_ms=1)
    while len(fb.events) < n_events:  # nine placements, then one cancel (one finding)
        actor = f"a{len(fb.events) % 997}"
        oids = [fb.place(actor, "buy", 0.5, 100 + j) for j in range(9)]
        fb.cancel(actor, oids[0], 100)
    return fb.events[:n_events]


def bench_engine(label: str, events: list[Any], port: int | None, tmp: Path,
                 close_timeout: float) -> dict[str, Any]:
    sinks = []
    if port is not None:
        sinks.append(AppriseRouter({"bench": route(len(events))},
                                   environ={"BENCH_URL": f"json://127.0.0.1:{port}/e"},
                                   data_dir=tmp))
    engine = FlowEngine(detectors=[EveryTenth()], alert_sinks=sinks)
    t = time.perf_counter()
    for ev in events:
        engine.ingest(ev)
    ingest = time.perf_counter() - t
    t = time.perf_counter()
    engine.close(alert_timeout_s=close_timeout)
    return {"label": label, "events_per_s": len(events) / ingest, "ingest_s": ingest,
            "findings": engine.findings_emitted, "close_s": time.perf_counter() - t}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--findings", type=int, default=3000)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--delay-ms", type=float, default=200.0)
    ap.add_argument("--close-timeout", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per scenario; the fastest ingest is reported (the machine is "
                         "shared, so the best run is the least disturbed)")
    args = ap.parse_args()
    logging.getLogger("horizon_flow").setLevel(logging.CRITICAL)  # dead letters log per item
    logging.getLogger("apprise").setLevel(logging.CRITICAL)

    fast_srv, fast_port, fast_hits = serve(0.0)
    slow_srv, slow_port, slow_hits = serve(args.delay_ms / 1000)
    fs = findings(args.findings)
    import apprise  # noqa: F401  (load apprise's plugins once, outside the timed loops)

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        def best(fn: Any, *a: Any) -> dict[str, Any]:
            runs = [fn(*a) for _ in range(args.repeat)]
            return min(runs, key=lambda r: r["ingest_s"])

        rows = [
            best(bench_notify, "no route", fs, None, 0, tmp, args.close_timeout),
            best(bench_notify, "fast sink", fs, fast_port, len(fs), tmp, 60.0),
            best(bench_notify, "slow sink", fs, slow_port, len(fs), tmp, args.close_timeout),
            best(bench_notify, "slow sink, queue 100", fs, slow_port, 100, tmp,
                 args.close_timeout),
        ]
        print(f"notify_finding, {len(fs)} findings, every one queued; slow sink sleeps "
              f"{args.delay_ms:g} ms per alert; close timeout {args.close_timeout:g} s")
        print(f"{'scenario':24} {'calls/s':>10} {'ingest s':>9} {'close s':>8} {'sent':>6} "
              f"{'dead':>6} {'overflow':>8}")
        for r in rows:
            print(f"{r['label']:24} {r['calls_per_s']:10.0f} {r['ingest_s']:9.3f} "
                  f"{r['close_s']:8.2f} {r['sent']:6d} {r['dead_lettered']:6d} "
                  f"{r['overflow']:8d}")

        events = feed(args.events)
        erows = [
            best(bench_engine, "engine, no alert sink", events, None, tmp, args.close_timeout),
            best(bench_engine, "engine, fast sink", events, fast_port, tmp, 60.0),
            best(bench_engine, "engine, slow sink", events, slow_port, tmp, args.close_timeout),
        ]
        print(f"\nFlowEngine.ingest, {len(events)} events, one finding per 10 events")
        print(f"{'scenario':24} {'events/s':>10} {'ingest s':>9} {'findings':>9} {'close s':>8}")
        for r in erows:
            print(f"{r['label']:24} {r['events_per_s']:10.0f} {r['ingest_s']:9.3f} "
                  f"{r['findings']:9d} {r['close_s']:8.2f}")
    fast_srv.shutdown()
    slow_srv.shutdown()


if __name__ == "__main__":
    main()
