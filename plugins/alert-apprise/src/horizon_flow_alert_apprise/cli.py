"""``flow alerts test|list|retry``: the typer wiring around :mod:`.commands`.

The config comes from the core's loader (``horizon_flow_core.config.load_config``)
when it is installed; otherwise the ``[alerts]`` tables of the TOML file are
read here with the same :class:`RouteConfig` rules. ``--db`` is opened by the
core's store opener (``horizon_flow_core.stores.open_flow_store``); a path
ending in ``.jsonl``, or no ``--db`` at all, uses the JSONL dead-letter file
under ``--data-dir``. Errors are one line and a non-zero exit.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import orjson
import typer

from .commands import format_routes_table, list_routes, retry_dead_letters, send_test
from .config import RouteConfig, route_configs, structure_route
from .deadletters import DEAD_LETTER_FILE, JsonlDeadLetters, supports_dead_letters
from .redact import install_log_redaction, redact
from .router import COUNTERS_FILE, config_section, load_counters

DEFAULT_CONFIG = Path("config") / "flow.toml"


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def load_routes(config_path: Path | None) -> tuple[dict[str, RouteConfig], str, str]:
    """``(routes, severity_floor, config path used)`` from the config file."""
    path = config_path
    if path is None:
        env = os.environ.get("FLOW_CONFIG")
        path = Path(env) if env else DEFAULT_CONFIG
    if not path.exists():
        raise CliError(f"config file {path} not found (pass --config FILE)", 2)
    try:
        from horizon_flow_core.config import load_config
    except ImportError:
        return (*_routes_from_toml(path), str(path))
    try:
        cfg = load_config(path)
    except Exception as e:  # the core's ConfigError is one line already
        raise CliError(redact(str(e)), 2) from None
    routes = route_configs(config_section(cfg, "alerts.routes"))
    floor = str(getattr(getattr(cfg, "alerts", None), "severity_floor", None) or "high")
    return routes, floor.lower(), str(path)


def _routes_from_toml(path: Path) -> tuple[dict[str, RouteConfig], str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise CliError(f"{path}: cannot read: {e}", 2) from None
    except tomllib.TOMLDecodeError as e:
        raise CliError(f"{path}: not valid TOML: {e}", 2) from None
    alerts = data.get("alerts") or {}
    if not isinstance(alerts, dict):
        raise CliError(f"{path}: [alerts] must be a table", 2)
    tables = alerts.get("routes") or {}
    if not isinstance(tables, dict):
        raise CliError(f"{path}: [alerts.routes] must be a table of routes", 2)
    routes = {}
    for name in sorted(tables):
        if not isinstance(tables[name], dict):
            raise CliError(f"{path}: alerts.routes.{name} must be a table", 2)
        try:
            routes[name] = structure_route(name, tables[name])
        except ValueError as e:
            raise CliError(f"{path}: {e}", 2) from None
    floor = str(alerts.get("severity_floor", "high")).lower()
    return routes, floor


def open_dead_letters(db: str | None, data_dir: Path) -> Any:
    if db is None:
        return JsonlDeadLetters(data_dir / DEAD_LETTER_FILE)
    if db.endswith(".jsonl"):
        return JsonlDeadLetters(db)
    try:
        from horizon_flow_core.stores import open_flow_store  # type: ignore[import-not-found]
    except ImportError:
        raise CliError(f"cannot open {db}: the core's store opener (horizon_flow_core.stores) "
                       "is not installed; pass a .jsonl dead-letter file instead") from None
    try:
        store = open_flow_store(db)
    except Exception as e:
        raise CliError(f"cannot open store {db}: {redact(str(e))}") from None
    if not supports_dead_letters(store):
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
            routes, _floor, _ = load_routes(config)
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
            routes, floor, _ = load_routes(config)
            store = open_dead_letters(db, data_dir)
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
            routes, _floor, _ = load_routes(config)
            store = open_dead_letters(db, data_dir)
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
