"""``flow demo``: a synthetic feed with planted abuse, scanned end to end, scored.

Needs no network and no config: it generates a seeded feed over several
markets (ordinary market makers, small and directional traders, and planted
episodes of every category), runs it through the engine built from the
installed plugins into a local SQLite flow store and audit log, and prints
which planted episodes the detectors caught, the false findings on the
ordinary flow, the top actors with their taxonomy, and where the files are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..errors import FlowError
from .common import load
from .output import console, print_json, print_table, warn


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _short(actor: str | None) -> str:
    if not actor:
        return "-"
    return actor if len(actor) <= 14 else f"{actor[:8]}..{actor[-4:]}"


def print_demo(summary: dict[str, Any], seconds: float, events_per_second: float) -> None:
    feed = summary["feed"]
    console.print(f"[bold]synthetic feed[/bold]: {feed['events']:,} events, "
                  f"{len(feed['markets'])} markets ({', '.join(feed['markets'])}), "
                  f"{feed['actors']} actors, {feed['minutes']:g} minutes of market time, "
                  f"seed {feed['seed']}")
    console.print(f"scanned in {seconds:.1f} s ({events_per_second:,.0f} events/s) by "
                  f"{len(summary['detectors'])} detectors: {', '.join(summary['detectors'])}")
    rows = [[c["category"], c["planted"], c["caught"], _pct(c["recall"]), c["findings"],
             c["false_ordinary"], c["false_cross"], _pct(c["precision"])]
            for c in summary["categories"] if c["planted"] or c["findings"]]
    print_table("findings against the planted episodes",
                ["category", "planted", "caught", "recall", "findings", "false", "cross",
                 "precision"], rows)
    console.print("false: findings on the ordinary flow; cross: findings naming an abuser "
                  "of another category", markup=False)
    ep_rows = []
    for e in summary["episodes"]:
        first = e["first_finding"]
        ep_rows.append([e["episode_id"], e["market_id"], _short(e["actors"][0]),
                        "yes" if e["caught"] else "MISSED",
                        "-" if first is None else
                        f"{first['severity']} {first['confidence']:.2f}"])
    print_table("planted episodes (findings' messages are in the summary file)",
                ["episode", "market", "abuser", "caught", "first finding"], ep_rows)
    act_rows = [[_short(a["actor_id"]), a["role"], a["fills"], f"{a['notional']:,.0f}",
                 a.get("top_class", "-"),
                 "-" if "probability" not in a else f"{a['probability']:.2f}"]
                for a in summary["top_actors"]]
    print_table("top actors by notional, with their Kirilenko taxonomy",
                ["actor", "scripted as", "fills", "notional", "taxonomy", "p"], act_rows)
    files = summary["files"]
    console.print(f"feed: {files['feed']}", markup=False)
    console.print(f"ground truth: {files['episodes']}", markup=False)
    console.print(f"flow store: {files['flow_store']}   audit log: {files['audit_log']}",
                  markup=False)
    console.print(f"summary: {files['summary']}", markup=False)
    console.print(f"next: flow anomalies --db {files['flow_store']} --format table   "
                  f"flow audit verify --db {files['audit_log']}", markup=False)


def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", "-o",
                             help="Directory for the feed, stores and summary."),
    seed: int = typer.Option(42, "--seed", help="Seed of the synthetic feed."),
    events: int | None = typer.Option(None, "--events", min=1000,
                                      help="Approximate feed size (default 80,000)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Generate a synthetic feed with planted abuse, scan it, and show what was caught."""
    from ..synthetic.demo import DEMO_EVENTS, run_demo

    cfg, pm = load(None)
    if not pm.detector_specs():
        warn("no detector plugin is installed: nothing can be caught "
             "(pip install 'horizon-flow[detectors]')")
    if out.exists() and not out.is_dir():
        raise FlowError(f"--out {out}: exists and is not a directory")
    summary, scan = run_demo(out, seed=seed, events=events or DEMO_EVENTS, config=cfg, pm=pm)
    if json_out:
        print_json(summary)
    else:
        print_demo(summary, scan.seconds, scan.events_per_second)
    if scan.status != "finished":
        raise typer.Exit(130)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
