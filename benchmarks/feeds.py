"""Benchmark feeds: seeded synthetic streams written once as feed logs and reused.

A feed is named by its parameters, so the same parameters always give the
same file (the generator is deterministic) and a second run of the suite
reuses it instead of spending a minute generating it again.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from horizon_flow_core.events import event_to_dict
from horizon_flow_core.jsonio import dumps, loads


@attrs.frozen
class FeedSpec:
    """Parameters of :func:`horizon_flow_core.synthetic.generate_stream`."""

    events: int
    markets: int
    actors: int
    seed: int = 7
    churn_per_hour: float = 0.0
    lifetime_s: float | None = None
    episodes_every_s: float | None = 20.0

    @property
    def name(self) -> str:
        churn = (f"-c{self.churn_per_hour:g}-l{self.lifetime_s or 0:g}"
                 if self.churn_per_hour else "")
        eps = f"-e{self.episodes_every_s:g}" if self.episodes_every_s else ""
        return (f"synthetic-s{self.seed}-n{self.events}-m{self.markets}-a{self.actors}"
                f"{churn}{eps}.jsonl")


def cache_dir() -> Path:
    """``$HORIZON_FLOW_BENCH_CACHE``, else a directory under the system temp dir."""
    env = os.environ.get("HORIZON_FLOW_BENCH_CACHE")
    path = Path(env) if env else Path(tempfile.gettempdir()) / "horizon-flow-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stream(spec: FeedSpec) -> Any:
    from horizon_flow_core.synthetic import generate_stream

    return generate_stream(seed=spec.seed, n_events=spec.events, n_markets=spec.markets,
                           n_actors=spec.actors, churn_per_hour=spec.churn_per_hour,
                           lifetime_s=spec.lifetime_s, episodes_every_s=spec.episodes_every_s)


def feed_file(spec: FeedSpec, directory: Path | None = None) -> Path:
    """The feed log of ``spec``, generated on first use (written atomically)."""
    directory = directory or cache_dir()
    path = directory / spec.name
    if path.exists():
        return path
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with tmp.open("wb") as fh:
        buf: list[bytes] = []
        for ev in stream(spec):
            buf.append(dumps(event_to_dict(ev)))
            if len(buf) >= 4096:
                fh.write(b"\n".join(buf) + b"\n")
                buf.clear()
        if buf:
            fh.write(b"\n".join(buf) + b"\n")
    tmp.replace(path)
    return path


def describe(path: Path) -> dict[str, Any]:
    """Counts of a feed file: events by kind, markets, distinct actors, market time."""
    kinds: Counter[str] = Counter()
    markets: set[str] = set()
    actors: set[str] = set()
    first = last = 0
    with path.open("rb") as fh:
        for line in fh:
            d = loads(line)
            kinds[d["kind"]] += 1
            markets.add(d["market_id"])
            if "actor_id" in d:
                actors.add(d["actor_id"])
            ts = d["ts"]
            if not first:
                first = ts
            last = ts
    return {"events": sum(kinds.values()), "bytes": path.stat().st_size,
            "by_kind": dict(sorted(kinds.items())), "markets": len(markets),
            "actors": len(actors), "market_time_s": round((last - first) / 1e9, 1)}
