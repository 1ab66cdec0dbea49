"""``flow scan``: run a feed log (normalized, or a venue's raw recording) into the stores."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..runner import ScanSummary, run_scan
from .common import load
from .output import console, print_json, print_table, progress_bar, warn


def print_summary(s: ScanSummary) -> None:
    console.print(f"[bold]{s.status}[/bold]: {s.events:,} events, {s.findings:,} findings, "
                  f"{s.rejects:,} rejects in {s.seconds:.2f} s "
                  f"({s.events_per_second:,.0f} events/s)")
    if s.by_category:
        rows = [[c, n] for c, n in sorted(s.by_category.items())]
        print_table("findings by category", ["category", "findings"], rows)
    if s.by_severity:
        order = ["critical", "high", "medium", "low"]
        rows = [[k, s.by_severity[k]] for k in order if k in s.by_severity]
        print_table("findings by severity", ["severity", "findings"], rows)
    if s.rejects:
        warn(f"{s.rejects} line(s) rejected, kept in {s.rejects_path}")
        for ex in s.reject_examples:
            warn(f"  {ex}")
    bad = [c for c in s.components if c["errors"]]
    for c in bad:
        state = "quarantined" if c["quarantined"] else "errors"
        warn(f"{c['kind']} {c['name']} ({c['plugin']}): {c['errors']} {state}; last: "
             f"{c['last_error']}")
    console.print(f"store: {s.store}   audit log: {s.audit}", markup=False)


def scan(
    feed_log: Path = typer.Option(..., "--feed-log", "-f", help="Feed log (.jsonl or .jsonl.gz)."),
    venue: str | None = typer.Option(None, "--venue",
                                     help="Read a raw recording of this venue's frames."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Config file."),
    db: str | None = typer.Option(None, "--db", help="Flow store (path or URL)."),
    audit_db: str | None = typer.Option(None, "--audit-db", help="Audit log (path or URL)."),
    rejects: Path | None = typer.Option(None, "--rejects", help="Where rejected lines are kept."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad line."),
    alerts: bool = typer.Option(False, "--alerts", help="Also deliver alerts through the routes."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable summary."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress",
                                         help="Progress bar (default: when stderr is a terminal)."),
) -> None:
    """Run a feed log through the engine into the flow store and audit log."""
    cfg, pm = load(config)
    show = progress if progress is not None else (sys.stderr.isatty() and not json_out)
    update, stop = progress_bar(f"scanning {feed_log.name}", show)
    try:
        summary = run_scan(feed_log, config=cfg, pm=pm, db=db, audit_db=audit_db, venue=venue,
                           rejects_path=rejects, strict=strict, progress=update, alerts=alerts)
    finally:
        stop()
    if json_out:
        print_json(summary.to_dict())
    else:
        print_summary(summary)
    if summary.status != "finished":
        raise typer.Exit(130)


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
