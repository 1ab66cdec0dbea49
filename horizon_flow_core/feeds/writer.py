"""Writing feed logs: normalized events, and raw frames as a live source receives them."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, cast

from ..events import MarketEvent, event_to_dict
from ..jsonio import dumps


def write_events(path: str | Path, events: Iterable[MarketEvent]) -> int:
    """Write a normalized feed log (``.gz`` compresses); returns the number of events."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fh = cast(IO[bytes], gzip.open(p, "wb") if p.suffix == ".gz" else p.open("wb"))
    n = 0
    with fh:
        for ev in events:
            fh.write(dumps(event_to_dict(ev)) + b"\n")
            n += 1
    return n


class RawRecorder:
    """Appends raw frames (and source-made events) to a recording file.

    Lines are flushed to the OS as they are written so a crash loses at most
    the line being written; a half-written last line is rejected (and kept)
    by the reader, never corrupting what came before.
    """

    def __init__(self, path: str | Path, venue: str) -> None:
        self.path = Path(path)
        self.venue = venue
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] | None = self.path.open("ab")
        self.frames = 0

    def frame(self, frame: Any, recv_ts: int) -> None:
        if isinstance(frame, bytes | bytearray):
            frame = bytes(frame).decode("utf-8", "replace")
        self._write({"venue": self.venue, "recv_ts": recv_ts, "frame": frame})

    def event(self, ev: MarketEvent, recv_ts: int | None = None) -> None:
        self._write({"venue": self.venue, "recv_ts": recv_ts if recv_ts is not None else ev.ts,
                     "event": event_to_dict(ev)})

    def _write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            raise ValueError(f"recorder for {self.path} is closed")
        self._fh.write(dumps(record) + b"\n")
        self._fh.flush()
        self.frames += 1

    def reopen(self) -> None:
        """Reopen the file (log rotation moved it away)."""
        self.close()
        self._fh = self.path.open("ab")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
