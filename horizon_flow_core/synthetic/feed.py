"""Writing a synthetic feed as the pinned normalized JSON Lines feed log."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from ..events import MarketEvent, event_to_dict
from ..jsonio import dumps


def write_feed(path: str | Path, events: Iterable[MarketEvent]) -> int:
    """Write one event per line (``event_to_dict`` through orjson); returns the count.

    A path ending in ``.gz`` is gzip-compressed, with a zero timestamp and no
    file name in the header so the same events always give the same bytes.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with p.open("wb") as raw:
        fh: IO[bytes] = (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)  # type: ignore[assignment]
            if p.name.endswith(".gz") else raw)
        with fh:
            buf: list[bytes] = []
            for ev in events:
                buf.append(dumps(event_to_dict(ev)))
                n += 1
                if len(buf) >= 4096:
                    fh.write(b"\n".join(buf) + b"\n")
                    buf.clear()
            if buf:
                fh.write(b"\n".join(buf) + b"\n")
    return n
