"""``flow record``: connect to a venue live and record its raw frames to a feed log.

The recording is what ``flow scan --venue V`` reads back: the same frames in
the same order give the same events the live run produced.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import typer

from ..components import SourceContext
from ..errors import FlowError
from ..feeds.writer import RawRecorder
from .common import load
from .output import info


def default_recording_path(venue: str) -> Path:
    return Path("data") / "feeds" / venue / (time.strftime("%Y-%m-%d", time.gmtime()) + ".jsonl")


async def record_venue(source: object, recorder: RawRecorder, duration_s: float | None,
                       max_frames: int | None) -> dict[str, int]:
    counts = {"frames": 0, "events": 0, "rejects": 0}
    stop = asyncio.Event()

    def on_frame(frame: object, recv_ts: int) -> None:
        recorder.frame(frame, recv_ts)
        counts["frames"] += 1
        if max_frames is not None and counts["frames"] >= max_frames:
            stop.set()

    def on_reject(reason: str, frame: object) -> None:
        counts["rejects"] += 1

    def on_events(events: list[object]) -> None:
        counts["events"] += len(events)

    ctx = SourceContext(emit=on_events, record_frame=on_frame,  # type: ignore[arg-type]
                        record_event=lambda ev: recorder.event(ev), reject=on_reject)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    task = asyncio.ensure_future(source.run(ctx))  # type: ignore[attr-defined]
    waiter = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=duration_s,
                                 return_when=asyncio.FIRST_COMPLETED)
    for t in (task, waiter):
        if not t.done():
            t.cancel()
    await asyncio.gather(task, waiter, return_exceptions=True)
    if task in done and task.exception() is not None:
        exc = task.exception()
        if isinstance(exc, FlowError):
            raise exc
        raise FlowError(f"live source stopped: {type(exc).__name__}: {exc}")
    return counts


def record(
    venue: str = typer.Option(..., "--venue", help="Venue to record (an installed venue plugin)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Config file ([venues.V])."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Recording file (default data/feeds/V/DATE.jsonl)."),
    duration: float | None = typer.Option(None, "--duration", help="Stop after this many seconds."),
    max_frames: int | None = typer.Option(None, "--max-frames", help="Stop after N frames."),
) -> None:
    """Record a venue's raw frames, with receive times, for later `flow scan --venue`."""
    cfg, pm = load(config)
    spec = pm.venue(venue)
    if spec.make_live_source is None:
        raise FlowError(f"venue {venue!r} ({spec.plugin}) has no live source")
    source = spec.make_live_source(cfg.venue_config(venue))
    path = out or default_recording_path(venue)
    recorder = RawRecorder(path, venue)
    try:
        counts = asyncio.run(record_venue(source, recorder, duration, max_frames))
    finally:
        recorder.close()
    info(f"recorded {counts['frames']} frames ({counts['events']} events, "
         f"{counts['rejects']} rejects) to {path}")


def register(app: typer.Typer) -> None:
    app.command("record")(record)
