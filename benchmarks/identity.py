"""Digests of a full scan, to show an optimization changed nothing a user can see.

``python benchmarks/identity.py [--events N] [--markets M] [--actors A]``
prints the scan's findings digest (SHA-256 over the canonical findings in
emission order), the audit chain's head hash (it covers every finding,
profile and operational record, in order) and the counts. Run it before and
after a change to the hot path: the digests must be equal.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.feeds import FeedSpec, feed_file
from benchmarks.pipeline import scan

#: feeds checked by default: a broad one, one dense with planted episodes, one with churn
DEFAULT_SPECS = (
    FeedSpec(events=200_000, markets=40, actors=2_000, seed=11, episodes_every_s=5.0),
    FeedSpec(events=100_000, markets=6, actors=300, seed=12, episodes_every_s=2.0),
    FeedSpec(events=100_000, markets=20, actors=500, seed=13, churn_per_hour=20_000,
             lifetime_s=60.0, episodes_every_s=4.0),
)


def near_miss_digest(feed: Path) -> str:
    """SHA-256 over every detector's near-misses after a run (what ``flow explain`` shows)."""
    from benchmarks.pipeline import build_engine
    from horizon_flow_core.feeds.reader import read_feed_log
    from horizon_flow_core.jsonio import canonical

    engine = build_engine()
    for ev in read_feed_log(feed):
        engine.ingest(ev)
    engine.close()
    h = hashlib.sha256()
    for d in engine.detectors:
        fn = getattr(d, "near_misses", None)
        h.update(canonical({"detector": d.name, "near": fn() if fn else None}) + b"\n")
    h.update(canonical(engine.stats()["events_by_kind"]))
    return h.hexdigest()


def digests(spec: FeedSpec, *, near: bool = True) -> dict[str, object]:
    feed = feed_file(spec)
    with tempfile.TemporaryDirectory(prefix="hf-identity-") as tmp:
        s = scan(feed, Path(tmp))
    out: dict[str, object] = {
        "feed": feed.name, "events": s.events, "findings": s.findings, "profiles": s.profiles,
        "by_category": s.by_category, "findings_digest": s.findings_digest,
        "audit_head": s.audit_head}
    if near:
        out["near_miss_digest"] = near_miss_digest(feed)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, help="one feed of this size instead of the defaults")
    ap.add_argument("--markets", type=int, default=40)
    ap.add_argument("--actors", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--episodes-every", type=float, default=5.0)
    ap.add_argument("--no-near-misses", action="store_true", help="skip the second pass")
    a = ap.parse_args(argv)
    specs = DEFAULT_SPECS if a.events is None else (
        FeedSpec(events=a.events, markets=a.markets, actors=a.actors, seed=a.seed,
                 episodes_every_s=a.episodes_every),)
    for spec in specs:
        for k, v in digests(spec, near=not a.no_near_misses).items():
            print(f"{k}: {v}")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
