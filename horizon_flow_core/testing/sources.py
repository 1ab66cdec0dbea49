"""A fake live venue that replays frames, and a helper to collect what a source emits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from ..aio import within
from ..components import FrameNormalizer, LiveSource, SourceContext
from ..events import MarketEvent


class ReplayingSource:
    """A :class:`LiveSource` feeding recorded frames through a normalizer, then stopping."""

    def __init__(self, normalizer: FrameNormalizer, frames: Iterable[tuple[Any, int]],
                 delay_s: float = 0.0) -> None:
        self.venue = normalizer.venue
        self.normalizer = normalizer
        self.frames = list(frames)
        self.delay_s = delay_s

    async def run(self, ctx: SourceContext) -> None:
        for frame, recv_ts in self.frames:
            ctx.record_frame(frame, recv_ts)
            try:
                events = self.normalizer.normalize(frame, recv_ts)
            except Exception as exc:
                ctx.reject(str(exc), frame)
                continue
            if events:
                ctx.emit(events)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)


async def collect_source(source: LiveSource, timeout_s: float = 5.0
                         ) -> tuple[list[MarketEvent], list[tuple[Any, int]], list[str]]:
    """Run ``source`` until it returns or ``timeout_s``; (events, recorded frames, rejects)."""
    events: list[MarketEvent] = []
    frames: list[tuple[Any, int]] = []
    rejects: list[str] = []
    ctx = SourceContext(emit=events.extend, record_frame=lambda f, t: frames.append((f, t)),
                        reject=lambda reason, frame: rejects.append(reason))
    try:
        await within(timeout_s, source.run(ctx))
    except TimeoutError:
        pass
    return events, frames, rejects
