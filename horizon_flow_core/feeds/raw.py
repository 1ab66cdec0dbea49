"""Reading raw venue recordings back into events through a venue's normalizer.

A recording is JSON Lines of envelopes ``{"venue", "recv_ts", "frame"}`` (the
frame as received: object, array or string) or ``{"venue", "recv_ts",
"event"}`` (an event the live source made itself: ``feed.gap``,
``feed.stale``). A file of bare frames, one per line, is accepted too; then
time comes from the frame. Lines that are not JSON are handed to the
normalizer as text frames (venues send ``PONG``), which rejects what it
does not know.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..components import FrameNormalizer
from ..errors import FeedError
from ..event_checks import MAX_TS, split_valid
from ..events import MarketEvent, event_from_dict
from ..jsonio import JSONDecodeError, loads
from .reader import iter_lines
from .rejects import RejectLog

_ENVELOPE_KEYS = frozenset({"venue", "recv_ts", "frame", "event"})


def split_envelope(d: Any) -> tuple[str | None, int | None, Any, bool]:
    """``(venue, recv_ts, payload, is_event)`` of a recording line; bare frames pass through."""
    if type(d) is dict and ("frame" in d or "event" in d) and d.keys() <= _ENVELOPE_KEYS:
        recv = d.get("recv_ts")
        if recv is not None and type(recv) is not int:
            raise FeedError("expected integer nanoseconds", field="recv_ts")
        # every venue falls back to the receive time for frames without one: bounded
        # here once, as event times are (check_event), not in each venue plugin. 0 is
        # kept: recorders of data that has its own times (chain logs) write it
        if recv is not None and not 0 <= recv <= MAX_TS:
            raise FeedError(f"receive time {recv} outside [0, {MAX_TS}] (to 2200)",
                            field="recv_ts")
        if "event" in d:
            return d.get("venue"), recv, d["event"], True
        return d.get("venue"), recv, d["frame"], False
    return None, None, d, False


def iter_raw_recording(path: str | Path, normalizer: FrameNormalizer,
                       rejects: RejectLog | None = None, *,
                       progress: Callable[[int], None] | None = None) -> Iterator[MarketEvent]:
    rejects = rejects if rejects is not None else RejectLog()
    source = str(path)
    venue = normalizer.venue
    take_rejects = getattr(normalizer, "take_rejects", None)
    for n, line in iter_lines(path, progress):
        try:
            d: Any = loads(line)
        except JSONDecodeError:
            d = line.decode("utf-8", "replace")
        try:
            rec_venue, recv_ts, payload, is_event = split_envelope(d)
            if rec_venue is not None and rec_venue != venue:
                raise FeedError(f"recorded from venue {rec_venue!r}, scanning as {venue!r}",
                                field="venue")
            if is_event:
                yield event_from_dict(payload)
                continue
            events = normalizer.normalize(payload, recv_ts)
        except FeedError as exc:
            rejects.add(exc.reason, line, source=source, line=n, field=exc.field)
            continue
        except Exception as exc:  # a normalizer bug must not end the scan either
            rejects.add(f"venue plugin failed on this frame: {type(exc).__name__}: {exc}", line,
                        source=source, line=n)
            continue
        if take_rejects is not None:
            for reason, item in take_rejects() or ():
                rejects.add(f"part of the frame dropped: {reason}", item, source=source, line=n)
        good, bad = split_valid(events)
        for _, err in bad:
            rejects.add(err.reason, line, source=source, line=n, field=err.field)
        yield from good
