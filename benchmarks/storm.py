"""The stores under a finding storm: findings per second and write latency.

The default pipeline (every built-in detector, the profiler, a SQLite flow
store and a SQLite audit log) plus a *storm* detector that reports every
``every``-th order placement, so findings arrive far faster than any real
abuse would produce them. Reported: events and findings per CPU second, and
two store latencies:

* **write call**: the time the engine thread spends in ``write_finding`` per
  finding (buffering, and the flush when the batch is full or due);
* **flush**: the time to commit one batch (findings and profiles) to SQLite,
  from the store's own ``FlushStats``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.latency import percentiles
from benchmarks.machine import load_average
from benchmarks.pipeline import bench_config, build_engine, plugin_manager
from horizon_flow_core.events import MarketEvent
from horizon_flow_core.findings import AnomalyFinding


class StormDetector:
    """Reports every ``every``-th order placement (a worst case for the stores)."""

    name = "storm"
    kinds = frozenset({"order.placed"})

    def __init__(self, every: int) -> None:
        self.every = every
        self.seen = 0

    def on_event(self, ev: MarketEvent, ctx: Any) -> list[AnomalyFinding] | None:
        self.seen += 1
        if self.seen % self.every:
            return None
        return [AnomalyFinding.make(
            detector=self.name, category="spoofing", severity="high", confidence=0.8,
            market_id=ev.market_id, actor_id=ev.actor_id,
            message=f"storm finding on order {ev.order_id}", citation="benchmark",
            evidence={"order_id": ev.order_id, "size": ev.size, "price": ev.price,
                      "n": self.seen})]


class _TimedWrites:
    """Wraps the store: ``write_finding`` timed per call, everything else passed through."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.write_ns: list[int] = []

    def write_finding(self, finding: AnomalyFinding) -> None:
        t = time.perf_counter_ns()
        self._store.write_finding(finding)
        self.write_ns.append(time.perf_counter_ns() - t)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def measure(events: Sequence[MarketEvent], *, every: int = 2, workdir: Path | None = None
            ) -> dict[str, Any]:
    from horizon_flow_core.audit.chain import AuditLog
    from horizon_flow_core.stores.resolve import open_audit_sink, open_flow_store

    config = bench_config()
    pm = plugin_manager(config)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="hf-storm-", dir=workdir) as tmp:
        store = open_flow_store(str(Path(tmp) / "flow.db"), pm)
        audit = AuditLog(open_audit_sink(str(Path(tmp) / "audit.db"), pm))
        timed = _TimedWrites(store)
        engine = build_engine(config, store=timed, audit=audit)
        engine.add_detector(StormDetector(every), plugin="benchmarks")
        w0, c0 = time.perf_counter(), time.process_time()
        for ev in events:
            engine.ingest(ev)
        engine.close()
        audit.close()
        store.close()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        stats = getattr(store, "stats", None)
    n, found = len(events), engine.findings_emitted
    out: dict[str, Any] = {
        "events": n, "every": every, "findings": found, "profiles": engine.profiles_emitted,
        "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
        "events_per_cpu_s": round(n / cpu), "findings_per_cpu_s": round(found / cpu),
        "findings_per_wall_s": round(found / wall),
        "write_call": percentiles(timed.write_ns),
        "load_average_before": load_before, "load_average_after": load_average()}
    if stats is not None:
        lat = [int(s * 1e9) for s in stats.latencies_s]
        out["flushes"] = stats.flushes
        out["flush"] = percentiles(lat)
        out["flush_total_s"] = round(stats.total_flush_s, 3)
    return out
