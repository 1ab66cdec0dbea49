"""Write throughput of the flow store's batched path, and latency per flush.

``python -m horizon_flow_store_sqlite.bench [--n 100000] [--dir DIR]`` prints a
table; :func:`measure_writes` returns the figures for one configuration so the
project's benchmarks can call it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from horizon_flow_core.audit.chain import AuditLog
from horizon_flow_core.findings import AnomalyFinding

from .audit_sink import SQLiteAuditSink
from .flow_store import SQLiteFlowStore
from .options import SQLiteOptions


def sample_findings(n: int) -> list[AnomalyFinding]:
    """Findings shaped like the built-in detectors' (a dozen evidence numbers)."""
    out = []
    for i in range(n):
        out.append(AnomalyFinding.make(
            detector="spoofing", category="spoofing", severity=("medium", "high")[i % 2],
            confidence=0.8, market_id=f"0xMARKET{i % 20}", venue="polymarket",
            actor_id=f"0x{i % 500:040x}",
            message=f"bait of {500 + i} cancelled within 850 ms after an aggressor fill",
            citation="CFTC 4c(a)(5)(C); Dodd-Frank 747",
            evidence={"bait_size": 500.0 + i, "bait_price": 0.53, "aggressor_size": 90.0,
                      "ratio": 5.6, "cancel_ms": 850.0, "imbalance": 0.41, "order_id": str(i),
                      "levels": [0.53, 0.52, 0.51], "book_depth": 12_000.0, "i": i},
            ts=1_732_147_200_000_000_000 + i * 1_000_000).with_identity(seq=i + 1))
    return out


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_writes(path: str | Path, findings: list[AnomalyFinding], *, batch_size: int = 500,
                   synchronous: str = "normal") -> dict[str, Any]:
    """Write ``findings`` to a fresh store at ``path`` through ``write_finding``; close.

    Returns findings/s (wall time of every write plus the final close), the
    mean cost of one ``write_finding`` call, and flush latencies (p50, p99, max).
    """
    opts = SQLiteOptions(batch_size=batch_size, synchronous=synchronous, flush_timer=False,
                         flush_interval_s=3600)
    store = SQLiteFlowStore(path, options=opts)
    t0 = time.perf_counter()
    for f in findings:
        store.write_finding(f)
    store.close()
    elapsed = time.perf_counter() - t0
    lat = list(store.stats.latencies_s)
    return {
        "findings": len(findings), "batch_size": batch_size, "synchronous": synchronous,
        "seconds": elapsed, "findings_per_s": len(findings) / elapsed,
        "us_per_write": elapsed / len(findings) * 1e6, "flushes": store.stats.flushes,
        "flush_ms_p50": _percentile(lat, 0.50) * 1e3,
        "flush_ms_p99": _percentile(lat, 0.99) * 1e3,
        "flush_ms_max": max(lat, default=0.0) * 1e3,
        "flush_ms_mean": statistics.fmean(lat) * 1e3 if lat else 0.0,
    }


def measure_audit(path: str | Path, n: int, *, batch_size: int = 512,
                  synchronous: str = "full") -> dict[str, Any]:
    """Records/s through the core's AuditLog into the SQLite audit sink."""
    sink = SQLiteAuditSink(path, options=SQLiteOptions(synchronous=synchronous))
    log = AuditLog(sink, batch_size=batch_size)
    findings = sample_findings(min(n, 1000))
    t0 = time.perf_counter()
    for i in range(n):
        f = findings[i % len(findings)]
        log.record("flow.anomaly", {"finding": f.to_dict()}, f.ts)
    log.close()
    elapsed = time.perf_counter() - t0
    return {"records": n, "batch_size": batch_size, "synchronous": synchronous,
            "seconds": elapsed, "records_per_s": n / elapsed}


class _EveryNth:
    """A detector that flags every n-th order placement (a worst case for the store)."""

    name = "every_nth"
    kinds = frozenset({"order.placed"})

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def on_event(self, ev: Any, ctx: Any) -> list[AnomalyFinding] | None:
        self.seen += 1
        if self.seen % self.n:
            return None
        return [AnomalyFinding.make(
            detector=self.name, category="spoofing", severity="high", confidence=0.7,
            market_id=ev.market_id, actor_id=ev.actor_id, message=f"order {ev.order_id}",
            citation="bench", evidence={"size": ev.size, "price": ev.price,
                                        "order_id": ev.order_id})]


def measure_scan(path: str | Path | None, n_events: int, *, finding_every: int = 1
                 ) -> dict[str, Any]:
    """Events/s of the engine with a detector firing on every ``finding_every``-th event,
    writing to a SQLite store at ``path`` (None: no store, the baseline)."""
    from horizon_flow_core.engine import FlowEngine
    from horizon_flow_core.events import make_event

    events = [make_event(venue="polymarket", market_id=f"M{i % 20}", kind="order.placed",
                         ts=1_732_147_200_000_000_000 + i * 1_000_000, actor_id=f"0x{i % 500:x}",
                         order_id=str(i), side="buy", price=0.5, size=100.0 + i)
              for i in range(n_events)]
    store = SQLiteFlowStore(path) if path is not None else None
    engine = FlowEngine(detectors=[_EveryNth(finding_every)], store=store)
    t0 = time.perf_counter()
    for ev in events:
        engine.ingest(ev)
    engine.close()
    if store is not None:
        store.close()
    elapsed = time.perf_counter() - t0
    return {"events": n_events, "findings": engine.findings_emitted, "seconds": elapsed,
            "events_per_s": n_events / elapsed}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="findings per configuration")
    parser.add_argument("--dir", default=None, help="where the store files go (default: tmp)")
    args = parser.parse_args(argv)
    findings = sample_findings(args.n)
    configs = [(500, "normal"), (500, "full"), (100, "normal"), (2000, "normal"),
               (1, "normal"), (1, "full")]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        print(f"{'batch':>6} {'sync':>6} {'findings/s':>11} {'us/write':>9} {'flushes':>8} "
              f"{'flush p50 ms':>12} {'p99 ms':>8} {'max ms':>8}")
        for k, (batch, sync) in enumerate(configs):
            # one-row transactions are slow: measure them on fewer findings
            sample = findings if batch > 1 else findings[: min(len(findings), 5_000)]
            r = measure_writes(Path(tmp) / f"flow{k}.db", sample, batch_size=batch,
                               synchronous=sync)
            print(f"{batch:>6} {sync:>6} {r['findings_per_s']:>11,.0f} {r['us_per_write']:>9.1f} "
                  f"{r['flushes']:>8} {r['flush_ms_p50']:>12.2f} {r['flush_ms_p99']:>8.2f} "
                  f"{r['flush_ms_max']:>8.2f}")
        for every in (1, 10):
            base = measure_scan(None, args.n, finding_every=every)
            with_store = measure_scan(Path(tmp) / f"scan{every}.db", args.n, finding_every=every)
            print(f"engine, a finding every {every} event(s): {base['events_per_s']:,.0f} "
                  f"events/s without a store, {with_store['events_per_s']:,.0f} events/s "
                  f"writing {with_store['findings']:,} findings to SQLite")
        for sync in ("full", "normal"):
            a = measure_audit(Path(tmp) / f"audit-{sync}.db", args.n, synchronous=sync)
            print(f"audit sink ({sync}): {a['records_per_s']:,.0f} records/s "
                  f"(AuditLog batch {a['batch_size']}, hashing included)")


if __name__ == "__main__":
    main()
