"""Per-event latency in live mode, in the daemon's shape.

The engine runs on its own thread (the daemon's
:class:`~horizon_flow_core.daemon.worker.EngineWorker`, fed through a bounded
queue), with a SQLite flow store and a SQLite audit log stamped with the
wall clock, as ``flow run`` builds them. A producer thread hands batches of
events (a venue frame's worth) to the queue at a fixed offered rate, below
the engine's capacity.

Two latencies per event, from ``time.perf_counter_ns``:

* **ingest**: from the engine thread taking the event to ``engine.ingest``
  returning, i.e. its findings emitted: stored (buffered), audited and
  alerted. This is the engine's own latency, the figure the target is for;
* **queued**: from the batch being handed to the engine's queue to the
  event's findings emitted: adds the wait behind earlier events of its
  batch and behind earlier batches.
"""

from __future__ import annotations

import gc
import queue
import tempfile
import time
import types
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.machine import load_average
from benchmarks.pipeline import bench_config, build_engine
from horizon_flow_core.events import MarketEvent


class _TimedEngine:
    """What the worker calls: the real engine's ingest, timed per event.

    ``freeze_every``: call ``gc.freeze()`` on the engine thread after that many
    events (between events, outside the timed region): long-lived engine state
    then leaves the cyclic collector's traversals, as a daemon could do.
    """

    def __init__(self, engine: Any, n: int, freeze_every: int | None = None) -> None:
        self.engine = engine
        self.start = array("q", bytes(8 * n))
        self.done = array("q", bytes(8 * n))
        self.i = 0
        self.freeze_every = freeze_every

    def ingest(self, ev: MarketEvent) -> Any:
        i = self.i
        self.start[i] = time.perf_counter_ns()
        out = self.engine.ingest(ev)
        self.done[i] = time.perf_counter_ns()
        self.i = i + 1
        if self.freeze_every and self.i % self.freeze_every == 0:
            gc.freeze()
        return out


def percentiles(values_ns: Sequence[int]) -> dict[str, float]:
    """p50, p90, p99, p99.9 and max in microseconds (nearest rank)."""
    if not values_ns:
        return {}
    s = sorted(values_ns)
    n = len(s)

    def q(p: float) -> float:
        return round(s[min(n - 1, int(p * n))] / 1000, 1)

    return {"p50_us": q(0.50), "p90_us": q(0.90), "p99_us": q(0.99), "p999_us": q(0.999),
            "max_us": round(s[-1] / 1000, 1), "mean_us": round(sum(s) / n / 1000, 1)}


def measure(events: Sequence[MarketEvent], *, rate: float = 10_000.0, batch: int = 4,
            warmup: int = 20_000, workdir: Path | None = None,
            freeze_every: int | None = None) -> dict[str, Any]:
    """Run ``events`` through a live-mode engine at ``rate`` events/s offered, ``batch`` per
    hand-off; latencies of the events after the first ``warmup`` (state is built by then).
    ``freeze_every``: see :class:`_TimedEngine` (None: the interpreter's default GC)."""
    from benchmarks.pipeline import plugin_manager
    from horizon_flow_core.audit.chain import AuditLog
    from horizon_flow_core.daemon.worker import EngineWorker
    from horizon_flow_core.stores.resolve import open_audit_sink, open_flow_store

    n = len(events)
    config = bench_config()
    pm = plugin_manager(config)
    # the benchmark's own event list is not engine state: keep it out of the
    # collector's traversals, which a daemon would not pay for
    gc.collect()
    gc.freeze()
    pauses = _GcPauses()
    gc.callbacks.append(pauses)
    with tempfile.TemporaryDirectory(prefix="hf-latency-", dir=workdir) as tmp:
        store = open_flow_store(str(Path(tmp) / "flow.db"), pm)
        sink = open_audit_sink(str(Path(tmp) / "audit.db"), pm)
        audit = AuditLog(sink, clock=time.time_ns)
        engine = build_engine(config, store=store, audit=audit)
        timed = _TimedEngine(engine, n, freeze_every)
        handed = array("q", bytes(8 * n))
        q: queue.Queue[Any] = queue.Queue(maxsize=10_000)
        worker = EngineWorker("bench", timed, q)
        runner = types.SimpleNamespace(events_ingested=0, last_ingested_ts=0)
        worker.start()
        load_before = load_average()
        t_start = time.perf_counter()
        next_t = t_start
        interval = batch / rate
        for i in range(0, n, batch):
            now = time.perf_counter()
            if next_t > now + 0.0005:  # ahead of schedule: sleep (no busy wait)
                time.sleep(next_t - now)
            next_t += interval
            chunk = list(events[i:i + batch])
            t = time.perf_counter_ns()
            for j in range(i, i + len(chunk)):
                handed[j] = t
            q.put((runner, chunk))
        worker.stop(timeout_s=600.0)
        elapsed = time.perf_counter() - t_start
        engine.close()
        audit.close()
        store.close()
        stats = getattr(store, "stats", None)
        findings = engine.findings_emitted
    gc.callbacks.remove(pauses)
    gc.unfreeze()
    lo = min(warmup, n // 2)
    ingest_ns = [timed.done[i] - timed.start[i] for i in range(lo, timed.i)]
    queued_ns = [timed.done[i] - handed[i] for i in range(lo, timed.i)]
    out: dict[str, Any] = {
        "events": n, "measured_events": len(ingest_ns), "offered_rate": rate, "batch": batch,
        "freeze_every": freeze_every,
        "achieved_rate": round(n / elapsed), "findings": findings,
        "ingest": percentiles(ingest_ns), "queued": percentiles(queued_ns),
        "load_average_before": load_before, "load_average_after": load_average()}
    if stats is not None:
        out["store_flushes"] = stats.flushes
    out["gc_pauses"] = pauses.summary()
    return out


class _GcPauses:
    """Cyclic-GC pauses during the run, by generation (the long tail's usual cause)."""

    def __init__(self) -> None:
        self._t0 = 0
        self.by_gen: dict[int, list[int]] = {0: [], 1: [], 2: []}

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter_ns()
        else:
            self.by_gen[info["generation"]].append(time.perf_counter_ns() - self._t0)

    def summary(self) -> dict[str, Any]:
        return {f"gen{g}": {"count": len(v), "max_ms": round(max(v, default=0) / 1e6, 2)}
                for g, v in self.by_gen.items()}
