"""``flow health``: one line per check and an exit code, for supervisors and monitors."""

from __future__ import annotations

from pathlib import Path

import typer

from ..daemon.config import DaemonConfig, section
from ..daemon.health import exit_code, run_checks
from .common import load
from .output import print_json


def health(
    config: Path | None = typer.Option(None, "--config", "-c",
                                       help="The daemon's config (status file, store, audit "
                                            "log); default: the defaults under data/."),
    status_file: Path | None = typer.Option(None, "--status-file",
                                            help="Status file written by `flow run`."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check a running `flow run`: feeds fresh, store writable, chain ok, queues not backed up.

    Exit code 0 when every check passes (WARN lines allowed), 1 otherwise.
    """
    cfg, pm = load(config)
    d: DaemonConfig = section(cfg, "daemon", DaemonConfig)
    path = status_file or d.status_path()
    checks = run_checks(path, cfg.stores.flow, cfg.stores.audit, pm)
    code = exit_code(checks)
    if json_out:
        print_json({"ok": code == 0, "checks": [c.to_dict() for c in checks]})
    else:
        for c in checks:
            typer.echo(c.line())
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("health")(health)
