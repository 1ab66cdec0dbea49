"""``flow kalshi backfill``: fetch public trades by REST into a feed log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from horizon_flow_core.errors import ConfigError, FlowError
from horizon_flow_core.jsonio import dumps

from .config import KalshiConfig
from .rest import TradeBackfill
from .units import iso_to_ns


def _epoch_s(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        return iso_to_ns(text, option) // 1_000_000_000
    except FlowError:
        raise ConfigError(f"{option}: expected epoch seconds or an ISO time like "
                          f"2026-02-12T17:00:00Z, got {value!r}") from None


def _config(path: Path | None, environment: str | None, rest_url: str | None) -> KalshiConfig:
    cfg = KalshiConfig()
    if path is not None:
        from horizon_flow_core.config import load_config  # the core's TOML loader

        loaded = load_config(path).venue_config("kalshi")
        if isinstance(loaded, KalshiConfig):
            cfg = loaded
    changes: dict[str, Any] = {}
    if environment:
        changes["environment"] = environment
    if rest_url:
        changes["rest_url"] = rest_url
    if changes:
        import attrs

        try:
            cfg = attrs.evolve(cfg, **changes)
        except ValueError as exc:
            raise ConfigError(f"kalshi: {exc}") from None
    return cfg


def register(app: typer.Typer) -> None:
    kalshi = typer.Typer(help="Kalshi venue tools.", no_args_is_help=True)

    @kalshi.command("backfill")
    def backfill(
        ticker: str = typer.Argument(..., help="market ticker, e.g. KXBTCD-26FEB1217-T67749.99"),
        since: str = typer.Option(None, "--since", help="start: epoch seconds or ISO time"),
        until: str = typer.Option(None, "--until", help="end: epoch seconds or ISO time"),
        out: Path = typer.Option(None, "--out", "-o",
                                 help="feed log to write (JSON lines); stdout when absent"),
        raw: Path = typer.Option(None, "--raw", help="also write the raw pages as a recording"),
        config: Path = typer.Option(None, "--config", "-c", help="config TOML ([venues.kalshi])"),
        environment: str = typer.Option(None, "--environment", help="production or demo"),
        rest_url: str = typer.Option(None, "--rest-url", help="REST base URL override"),
    ) -> None:
        """Fetch a market's public trades (oldest first) as trade.tape events."""
        try:
            cfg = _config(config, environment, rest_url)
            raw_lines: list[bytes] = []

            def keep(page: Any, recv_ts: int) -> None:
                raw_lines.append(dumps({"venue": "kalshi", "recv_ts": recv_ts, "frame": page}))

            rejects: list[str] = []
            events = TradeBackfill(cfg).events(
                ticker, _epoch_s(since, "--since"), _epoch_s(until, "--until"),
                record_page=keep if raw is not None else None,
                reject=lambda reason, trade: rejects.append(reason))
        except FlowError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(getattr(exc, "exit_code", 1)) from None
        data = b"".join(dumps(ev.to_dict()) + b"\n" for ev in events)
        if out is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            out.write_bytes(data)
        if raw is not None:
            raw.write_bytes(b"".join(line + b"\n" for line in raw_lines))
        for reason in rejects:
            typer.echo(f"rejected: {reason}", err=True)
        typer.echo(f"kalshi: {len(events)} trades of {ticker}"
                   + (f", {len(rejects)} rejected" if rejects else ""), err=True)

    app.add_typer(kalshi, name="kalshi")
