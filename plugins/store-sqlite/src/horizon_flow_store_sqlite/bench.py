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
        for sync in ("full", "normal"):
            a = measure_audit(Path(tmp) / f"audit-{sync}.db", args.n, synchronous=sync)
            print(f"audit sink ({sync}): {a['records_per_s']:,.0f} records/s "
                  f"(AuditLog batch {a['batch_size']}, hashing included)")


if __name__ == "__main__":
    main()
