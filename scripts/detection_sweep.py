"""Recall and precision of the installed detectors on seeded synthetic feeds with planted abuse.

    python scripts/detection_sweep.py --seeds 100-119 [--events 40000] [--json]
    python scripts/detection_sweep.py --busy 20 --seeds 1-5 --events 300000 [--every 6]
    python scripts/detection_sweep.py --anonymous --seeds 100-109

For each seed: generate the demo-style feed (ordinary flow plus 3 planted
episodes of every category), run it through an engine built from the
installed plugins with the default config, and score the findings against
the ground truth (``horizon_flow_core.synthetic.score_findings``). Reports,
per category: planted, caught, recall, findings, false findings on ordinary
flow, findings naming an abuser of another category, and precision.

``--busy MARKETS``: instead, a ``generate_stream`` feed over that many
markets with ``--actors`` ordinary participants and an episode planted
every ``--every`` seconds, so episodes overlap and share busy markets with
the ordinary flow. Such a stream stops at ``--events`` whatever is still
playing, and an episode enters the ground truth only when its script ends;
findings naming the actors of an episode still playing (or one its script
gave up) are counted apart as "unfinished", not as false.

``--anonymous``: the same feeds as an anonymous venue publishes them (a
public book channel): order events dropped, book and tape kept, so only the
book-and-tape paths can fire; wash trading, momentum ignition and split
orders need identity and stay silent.
"""

from __future__ import annotations

import argparse
import collections
import sys
from collections.abc import Iterable, Iterator

from horizon_flow_core.config import FlowConfig
from horizon_flow_core.engine import build_engine
from horizon_flow_core.events import MarketEvent
from horizon_flow_core.findings import AnomalyFinding
from horizon_flow_core.jsonio import pretty
from horizon_flow_core.synthetic import CATEGORIES, generate, generate_stream, score_findings


def anonymous(events: Iterable[MarketEvent]) -> Iterator[MarketEvent]:
    """The events an anonymous venue's public channels carry: no order events."""
    return (ev for ev in events if not ev.kind.startswith("order."))


def parse_seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-", 1)
        return list(range(int(lo), int(hi) + 1))
    return [int(x) for x in text.split(",")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="100-119")
    ap.add_argument("--events", type=int, default=40_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--busy", type=int, default=0, metavar="MARKETS",
                    help="a generate_stream feed over this many markets instead")
    ap.add_argument("--actors", type=int, default=2000, help="ordinary actors (--busy)")
    ap.add_argument("--every", type=float, default=6.0, help="seconds between episodes (--busy)")
    ap.add_argument("--anonymous", action="store_true",
                    help="drop order events (an anonymous venue's book and tape only)")
    args = ap.parse_args()
    tot: collections.Counter[tuple[str, str]] = collections.Counter()
    missed: list[str] = []
    for seed in parse_seeds(args.seeds):
        engine = build_engine(FlowConfig(), alerts=False)
        found: list[AnomalyFinding] = []
        engine.on_finding(found.append)
        unfinished: set[str] = set()
        if args.busy:
            stream = generate_stream(seed=seed, n_events=args.events, n_markets=args.busy,
                                     n_actors=args.actors, episodes_every_s=args.every)
            engine.ingest_many(anonymous(stream) if args.anonymous else stream)
            engine.finish()
            episodes = stream.episodes
            planted = {a for e in episodes for a in e.actor_ids}
            unfinished = {f.id for f in found if f.actor_id and f.actor_id not in planted
                          and stream.role(f.actor_id) in CATEGORIES}
        else:
            sc = generate(seed=seed, events=args.events)
            engine.ingest_many(anonymous(sc.events) if args.anonymous else sc.events)
            engine.finish()
            episodes = sc.episodes
        score = score_findings(episodes, [f for f in found if f.id not in unfinished])
        for f in found:
            if f.id in unfinished:
                tot[(f.category, "unfinished")] += 1
        for cat, s in score.categories.items():
            for key in ("planted", "caught", "findings", "false_ordinary", "false_cross"):
                tot[(cat, key)] += getattr(s, key)
        missed += [f"seed {seed}: {e.episode_id} on {e.market_id}" for e in score.missed]
        print(f"seed {seed}: {len(found)} findings, {len(score.missed)} missed", file=sys.stderr)
    rows = []
    for cat in CATEGORIES:
        planted, caught = tot[(cat, "planted")], tot[(cat, "caught")]
        findings, false = tot[(cat, "findings")], tot[(cat, "false_ordinary")]
        cross = tot[(cat, "false_cross")]
        rows.append({"category": cat, "planted": planted, "caught": caught,
                     "recall": round(caught / planted, 3) if planted else None,
                     "findings": findings, "false_on_ordinary_flow": false,
                     "cross_category": cross,
                     "unfinished_episodes": tot[(cat, "unfinished")],
                     "precision": round((findings - false - cross) / findings, 3)
                     if findings else None})
    if args.json:
        sys.stdout.buffer.write(pretty({"seeds": args.seeds, "rows": rows, "missed": missed}))
        return 0
    busy = bool(args.busy)
    print("| category | planted | caught | recall | findings | false (ordinary flow) | "
          "other category | precision |" + (" unfinished |" if busy else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|" if busy else ""))
    for r in rows:
        print(f"| {r['category']} | {r['planted']} | {r['caught']} | {r['recall']} | "
              f"{r['findings']} | {r['false_on_ordinary_flow']} | {r['cross_category']} | "
              f"{r['precision']} |" + (f" {r['unfinished_episodes']} |" if busy else ""))
    for m in missed:
        print(f"missed: {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
