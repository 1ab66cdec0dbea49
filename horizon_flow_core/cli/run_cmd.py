"""``flow run``: the long-running surveillance daemon (see :mod:`horizon_flow_core.daemon`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from .common import load


def run(
    config: Path = typer.Option(Path("flow.toml"), "--config", "-c",
                                help="Config file: [venues.*], [stores], [alerts.routes.*], "
                                     "[daemon], [metrics], [logging]."),
    venue: list[str] | None = typer.Option(None, "--venue",
                                           help="Run only this venue (repeatable; default: "
                                                "[daemon] venues or every [venues.X] table)."),
    check: bool = typer.Option(False, "--check",
                               help="Build everything, print the start-up banner, and exit "
                                    "without connecting."),
) -> None:
    """Run live: venue sources -> engines -> store, audit log and alerts, until SIGTERM.

    Every raw frame is recorded to data/feeds/<venue>/<UTC date>.jsonl for
    `flow replay --venue`. SIGTERM/SIGINT drain and exit 0; SIGHUP reopens logs.
    """
    from ..daemon.service import FlowDaemon  # imported here: `flow --help` stays light

    cfg, pm = load(config)
    explicit = os.environ.get("HORIZON_FLOW_LOG_LEVEL")
    if "--log-level" in sys.argv:
        i = sys.argv.index("--log-level")
        explicit = sys.argv[i + 1] if i + 1 < len(sys.argv) else explicit
    if "--debug" in sys.argv or os.environ.get("HORIZON_FLOW_DEBUG"):
        explicit = "DEBUG"
    daemon = FlowDaemon(cfg, pm, venues=venue or None, log_level=explicit)
    daemon.build()
    if check:
        typer.echo(daemon.banner())
        daemon.close_unstarted()
        return
    code = daemon.run()
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
