"""Throughput of the Polymarket normalizer: market-channel frames and chain logs.

    python plugins/venue-polymarket/benchmarks/bench_normalize.py [--frames N]

Uses the real burst of ``price_change`` frames (shared fixtures, read in place)
and the two real ``OrderFilled`` logs (tests/data), re-stamped so the dedupe
window does not drop the copies. Prints frames/s and events/s.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import orjson
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer

HERE = Path(__file__).resolve().parent


def shared_burst() -> list[dict]:
    for parent in HERE.parents:
        p = parent / "shared" / "fixtures" / "polymarket" / (
            "nautilus_ws_market_price_change_crossing_burst_first16.jsonl")
        if p.exists():
            return [orjson.loads(x) for x in p.read_bytes().splitlines() if x.strip()]
    raise SystemExit("shared fixtures not found")


def market_frames(n: int) -> list[dict]:
    burst = [f for f in shared_burst() if f["event_type"] == "price_change"]
    out = []
    for i in range(n):
        f = copy.deepcopy(burst[i % len(burst)])
        f["timestamp"] = str(1790658674035 + i)
        for j, ch in enumerate(f["price_changes"]):
            ch["hash"] = f"{i:x}-{j}"
        out.append(f)
    return out


def chain_frames(n: int) -> list[dict]:
    logs = [orjson.loads(x) for x in (HERE.parent / "tests" / "data" /
                                      "onchain_orderfilled_raw_logs_v2_v1.jsonl"
                                      ).read_bytes().splitlines() if x.strip()]
    out = []
    for i in range(n):
        f = dict(logs[i % 2])
        f["logIndex"] = hex(i)
        out.append(f)
    return out


def run(name: str, frames: list) -> None:
    n = PolymarketNormalizer()
    t = time.perf_counter()
    events = 0
    for f in frames:
        events += len(n.normalize(f, None))
    dt = time.perf_counter() - t
    print(f"{name:>14}: {len(frames):,} frames, {events:,} events in {dt:.3f} s = "
          f"{len(frames) / dt:,.0f} frames/s, {events / dt:,.0f} events/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=50_000)
    args = ap.parse_args()
    run("price_change", market_frames(args.frames))
    run("chain logs", chain_frames(args.frames))
    text = [orjson.dumps(f).decode() for f in market_frames(args.frames)]
    run("price_change/text", text)


if __name__ == "__main__":
    main()
