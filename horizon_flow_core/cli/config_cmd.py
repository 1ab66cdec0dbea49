"""``flow config check|show``: validate a config file; print the effective config."""

from __future__ import annotations

from pathlib import Path

import typer

from ..config import config_hash, config_to_dict, render_toml
from .common import load
from .output import print_json

config_app = typer.Typer(help="Validate and show configuration.", no_args_is_help=True)


@config_app.command("check")
def check(path: Path = typer.Argument(..., help="The flow.toml to validate.")) -> None:
    """Validate a config file: unknown keys, wrong types and out-of-range values are errors."""
    cfg, pm = load(path)
    pm.check_conflicts()
    typer.echo(f"{path}: ok ({len(cfg.detectors)} detectors, {len(cfg.venues)} venues, "
               f"config hash {config_hash(cfg)[:16]})")


@config_app.command("show")
def show(
    config: Path | None = typer.Option(None, "--config", "-c", help="Config file (default: none)."),
    json_out: bool = typer.Option(False, "--json", help="JSON instead of TOML."),
) -> None:
    """Print the effective config, every default filled in."""
    cfg, _ = load(config)
    data = config_to_dict(cfg)
    if json_out:
        print_json(data)
    else:
        typer.echo(f"# effective config (hash {config_hash(cfg)})")
        typer.echo(render_toml(data), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
