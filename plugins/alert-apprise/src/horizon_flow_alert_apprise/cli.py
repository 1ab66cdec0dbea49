"""``flow alerts test|list|retry``: the typer wiring around :mod:`.commands`.

The config is loaded by the core (``--config``, defaults without it, so no
routes); ``--db`` is opened by whichever store plugin handles it; a path
ending in ``.jsonl``, or no ``--db`` at all, is the JSONL dead-letter file the
router falls back to under ``--data-dir``. Errors are one line and a
non-zero exit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import orjson
import typer

from .commands import format_routes_table, list_routes, retry_dead_letters, send_test
from .config import RouteConfig, route_configs
from .deadletters import DEAD_LETTER_FILE, JsonlDeadLetters, supports_dead_letters
from .redact import install_log_redaction, redact
from .router import COUNTERS_FILE, config_section, load_counters


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def load_routes(config_path: Path | None) -> tuple[dict[str, RouteConfig], str, Any]:
    """``(routes, severity_floor, plugin manager)`` from the config file (core loader)."""
    from horizon_flow_core.cli.common import load
    from horizon_flow_core.errors import FlowError

    try:
        cfg, pm = load(config_path)
    except FlowError as e:  # one line naming the file and key already
        raise CliError(redact(str(e)), e.exit_code) from None
    routes = route_configs(config_section(cfg, "alerts.routes"))
    floor = str(getattr(getattr(cfg, "alerts", None), "severity_floor", None) or "high")
    return routes, floor.lower(), pm


def open_dead_letters(db: str | None, data_dir: Path, pm: Any = None) -> Any:
    """The store at ``db`` (any installed backend), a ``.jsonl`` dead-letter file, or,
    without ``db``, the JSONL file the router falls back to under ``data_dir``."""
    if db is None:
        return JsonlDeadLetters(data_dir / DEAD_LETTER_FILE)
    if db.endswith(".jsonl"):
        return JsonlDeadLetters(db)
    from horizon_flow_core.errors import FlowError
    from horizon_flow_core.stores import open_flow_store

    try:
        store = open_flow_store(db, pm)
    except FlowError as e:
        raise CliError(redact(str(e)), e.exit_code) from None
    if not supports_dead_letters(store):
        _close(store)
        raise CliError(f"store {db} does not keep dead letters (no DeadLetterStore capability)")
    return store


def _close(store: Any) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()


def _fail(e: CliError) -> typer.Exit:
    typer.echo(f"error: {e}", err=True)
    return typer.Exit(e.code)


def register(app: typer.Typer) -> None:
    """Add the ``alerts`` command group to the ``flow`` app."""
    alerts = typer.Typer(help="Alert routes: send a test, list routes and counters, resend "
                              "dead letters.", no_args_is_help=True)

    @alerts.command("test")
    def alerts_test(
        route: str = typer.Option(..., "--route", help="route name ([alerts.routes.NAME])"),
        config: Path | None = typer.Option(None, "--config", "-c", help="flow.toml"),
    ) -> None:
        """Send a synthetic critical finding through the route's real targets."""
        install_log_redaction()
        try:
            routes, _floor, _pm = load_routes(config)
        except CliError as e:
            raise _fail(e) from None
        result = send_test(route, routes, os.environ)
        typer.echo(result.message, err=not result.ok)
        if not result.ok:
            raise typer.Exit(1)

    @alerts.command("list")
    def alerts_list(
        config: Path | None = typer.Option(None, "--config", "-c", help="flow.toml"),
        db: str | None = typer.Option(None, "--db", help="flow store holding dead letters"),
        data_dir: Path = typer.Option(Path("data"), "--data-dir",
                                      help="where the router keeps counters.json"),
        as_json: bool = typer.Option(False, "--json", help="JSON instead of a table"),
    ) -> None:
        """Show routes, their targets (variable and scheme only) and counters."""
        install_log_redaction()
        try:
            routes, floor, pm = load_routes(config)
            store = open_dead_letters(db, data_dir, pm)
        except CliError as e:
            raise _fail(e) from None
        try:
            rows = list_routes(routes, os.environ, dead_store=store,
                               counters=load_counters(data_dir / COUNTERS_FILE),
                               severity_floor=floor)
        finally:
            _close(store)
        if as_json:
            sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2
                                          | orjson.OPT_SORT_KEYS).decode() + "\n")
        else:
            typer.echo(format_routes_table(rows))

    @alerts.command("retry")
    def alerts_retry(
        config: Path | None = typer.Option(None, "--config", "-c", help="flow.toml"),
        db: str | None = typer.Option(None, "--db", help="flow store holding dead letters "
                                      "(default: the JSONL file under --data-dir)"),
        route: str | None = typer.Option(None, "--route", help="only this route"),
        data_dir: Path = typer.Option(Path("data"), "--data-dir"),
    ) -> None:
        """Resend dead letters; each one delivered is marked resent."""
        install_log_redaction()
        try:
            routes, _floor, pm = load_routes(config)
            store = open_dead_letters(db, data_dir, pm)
        except CliError as e:
            raise _fail(e) from None
        try:
            report = retry_dead_letters(store, routes, os.environ, route=route)
        finally:
            _close(store)
        typer.echo(report.summary(), err=not report.ok)
        if not report.ok:
            raise typer.Exit(1)

    app.add_typer(alerts, name="alerts")
