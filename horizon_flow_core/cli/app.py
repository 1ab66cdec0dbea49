"""The ``flow`` entry point: builds the typer app, adds plugin commands, renders errors.

Errors are one readable line on stderr and a non-zero exit; the traceback
only with ``--debug`` (or ``HORIZON_FLOW_DEBUG=1``).
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys
from typing import Any

import typer

from ..errors import FlowError
from ..version import PLUGIN_API_VERSION, __version__


def _new_app() -> typer.Typer:
    return typer.Typer(
        name="flow",
        help="horizon-flow: market-abuse surveillance for prediction-market and crypto venues.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"horizon-flow {__version__} (plugin API {PLUGIN_API_VERSION})")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    no_plugins: bool = typer.Option(False, "--no-plugins",
                                    help="Load no plugins (the core alone)."),
    log_level: str = typer.Option("WARNING", "--log-level", envvar="HORIZON_FLOW_LOG_LEVEL",
                                  help="Logging level for the horizon_flow loggers."),
) -> None:
    """horizon-flow command line."""
    # --debug/--no-plugins are read from argv in main() too, before plugins load


def _core_command_modules() -> list[str]:
    """Every ``horizon_flow_core.cli.*_cmd`` module, sorted (each has ``register(app)``)."""
    from .. import cli

    return sorted(m.name for m in pkgutil.iter_modules(cli.__path__) if m.name.endswith("_cmd"))


def build_app() -> typer.Typer:
    """A fresh app each call: in-process callers (tests, embedding) run ``main`` many times."""
    app = _new_app()
    app.callback()(_root)
    for name in _core_command_modules():
        module = importlib.import_module(f"horizon_flow_core.cli.{name}")
        module.register(app)
    from ..plugin_manager import get_plugin_manager

    get_plugin_manager().add_commands(app)
    return app


def _configure_logging(argv: list[str], debug: bool) -> None:
    level_name = os.environ.get("HORIZON_FLOW_LOG_LEVEL", "WARNING")
    if "--log-level" in argv:
        i = argv.index("--log-level")
        if i + 1 < len(argv):
            level_name = argv[i + 1]
    level = logging.DEBUG if debug else getattr(logging, level_name.upper(), logging.WARNING)
    from ..logs import setup_logging

    setup_logging(level)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or bool(os.environ.get("HORIZON_FLOW_DEBUG"))
    saved = os.environ.get("HORIZON_FLOW_NO_PLUGINS")
    if "--no-plugins" in args:
        os.environ["HORIZON_FLOW_NO_PLUGINS"] = "1"
    _configure_logging(args, debug)
    try:
        return _main(args, debug)
    finally:  # main() may be called in-process (tests, embedding): leave things as found
        from ..logs import teardown_logging

        teardown_logging()
        if saved is None:
            os.environ.pop("HORIZON_FLOW_NO_PLUGINS", None)
        else:
            os.environ["HORIZON_FLOW_NO_PLUGINS"] = saved


def _main(args: list[str], debug: bool) -> int:
    try:
        command = typer.main.get_command(build_app())
        result: Any = command.main(args=args, prog_name="flow", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except FlowError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # typer vendors click in recent releases, so its usage errors and Exit
        # are recognised by shape rather than imported from click
        code = getattr(exc, "exit_code", None)
        if isinstance(code, int):
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            return code
        if debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for the "
              "traceback)", file=sys.stderr)
        return 1


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
