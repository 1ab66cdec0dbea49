"""``flow polymarket backfill``: CTF Exchange fills of a block range, from ``$POLYGON_RPC_URL``.

Writes the fills as a feed log (``--out``, or stdout) and, with ``--raw``, the
prepared logs as a raw recording that ``flow scan --venue polymarket`` reads
back offline to the same events.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from horizon_flow_core.errors import FlowError
from horizon_flow_core.jsonio import dumps

from .config import PolymarketConfig


def _config(path: Path | None) -> PolymarketConfig:
    if path is None:
        return PolymarketConfig()
    from horizon_flow_core.config import load_config

    loaded = load_config(path).venue_config("polymarket")
    return loaded if isinstance(loaded, PolymarketConfig) else PolymarketConfig()


def backfill_to_files(cfg: PolymarketConfig, from_block: int, to_block: int | None,
                      out: Path | None, raw: Path | None,
                      environ: dict[str, str] | None = None) -> tuple[int, int, int, list[str]]:
    """Run a backfill; returns (events, logs, last block, rejects). Raises FlowError."""
    from horizon_flow_core.feeds.writer import RawRecorder

    from .chain.backfill import ChainBackfill

    job = ChainBackfill.from_env(cfg, environ=environ)
    last = job.rpc.head() if to_block is None else to_block
    recorder = RawRecorder(raw, "polymarket") if raw is not None else None
    logs = 0

    def keep(frame: Any, recv_ts: int) -> None:
        nonlocal logs
        logs += 1
        if recorder is not None:
            recorder.frame(frame, recv_ts)

    lines: list[bytes] = []
    rejects: list[str] = []
    try:
        for ev in job.run(from_block, last, record_frame=keep,
                          clock=lambda: 0,  # recv time is unused for chain logs
                          reject=lambda reason, frame: rejects.append(reason)):
            lines.append(dumps(ev.to_dict()) + b"\n")
    finally:
        if recorder is not None:
            recorder.close()
    data = b"".join(lines)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.write_bytes(data)
    return len(lines), logs, last, rejects


def register(app: typer.Typer) -> None:
    polymarket = typer.Typer(help="Polymarket venue tools.", no_args_is_help=True)

    @polymarket.command("backfill")
    def backfill(
        from_block: int = typer.Option(..., "--from-block", help="first Polygon block"),
        to_block: int = typer.Option(None, "--to-block", help="last block (default: the head)"),
        out: Path = typer.Option(None, "--out", "-o", help="feed log to write; stdout if absent"),
        raw: Path = typer.Option(None, "--raw", help="also write the logs as a raw recording"),
        config: Path = typer.Option(None, "--config", "-c",
                                    help="config TOML ([venues.polymarket])"),
    ) -> None:
        """Decode OrderFilled logs of a block range into order.filled events per wallet."""
        try:
            events, logs, last, rejects = backfill_to_files(_config(config), from_block,
                                                            to_block, out, raw)
        except FlowError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(getattr(exc, "exit_code", 1)) from None
        for reason in rejects:
            typer.echo(f"rejected: {reason}", err=True)
        typer.echo(f"polymarket: {events} fills from {logs} logs, blocks {from_block}-{last}"
                   + (f", {len(rejects)} rejected" if rejects else ""), err=True)

    app.add_typer(polymarket, name="polymarket")
