"""Reading normalized feed logs (JSON Lines of MarketEvent, optionally gzip-compressed)."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, cast

from ..errors import FeedError
from ..events import MarketEvent, event_from_dict
from ..jsonio import JSONDecodeError, loads
from .rejects import RejectLog

#: Read buffer of a plain feed file: a replay reads the whole file front to
#: back, and io's default 8 KiB meant one read() system call per ~40 lines
#: (48,000 of them for a 1M-event feed; 200 with 1 MiB).
READ_BUFFER_BYTES = 1 << 20


def open_feed_text(path: str | Path) -> IO[bytes]:
    """Open a feed file for binary line reading; ``.gz`` files are decompressed."""
    p = Path(path)
    try:
        with p.open("rb") as probe:
            magic = probe.read(2)
        if magic == b"\x1f\x8b":
            return cast(IO[bytes], gzip.open(p, "rb"))
        return p.open("rb", buffering=READ_BUFFER_BYTES)
    except FileNotFoundError:
        raise FeedError("feed log not found", source=str(p)) from None
    except IsADirectoryError:
        raise FeedError("is a directory, not a feed log", source=str(p)) from None
    except OSError as exc:
        raise FeedError(f"cannot read: {exc.strerror or exc}", source=str(p)) from None


def iter_lines(path: str | Path, progress: Callable[[int], None] | None = None
               ) -> Iterator[tuple[int, bytes]]:
    """``(line number, line bytes)`` for every non-blank line; ``progress(bytes)`` as it goes."""
    fh = open_feed_text(path)
    raw = getattr(fh, "fileobj", None)  # the compressed stream under gzip, for progress
    try:
        n = 0
        for n, line in enumerate(fh, start=1):
            if progress is not None and n % 4096 == 0:
                progress((raw or fh).tell())
            line = line.strip()
            if line:
                yield n, line
        if progress is not None:
            progress((raw or fh).tell())
    except (OSError, EOFError) as exc:  # truncated gzip, I/O error mid-file
        raise FeedError(f"read failed after line {n}: {exc}", source=str(path)) from None
    finally:
        fh.close()


def read_feed_log(path: str | Path, rejects: RejectLog | None = None, *,
                  progress: Callable[[int], None] | None = None) -> Iterator[MarketEvent]:
    """Events of a normalized feed log; bad lines go to ``rejects`` and reading goes on."""
    rejects = rejects if rejects is not None else RejectLog()
    source = str(path)
    # iter_lines' loop written out here: this generator is the replay's
    # innermost loop, and one generator layer and a tuple per line less is a
    # tenth of the cost of reading a line.
    fh = open_feed_text(path)
    raw = getattr(fh, "fileobj", None)
    build = event_from_dict
    n = 0
    rejecting = False  # an OSError while writing the rejects file is not a read error
    try:
        for n, line in enumerate(fh, start=1):
            if progress is not None and not n & 4095:
                progress((raw or fh).tell())
            try:
                d = loads(line)
            except JSONDecodeError as exc:
                line = line.strip()
                if line:  # a blank line is not an error
                    rejecting = True
                    rejects.add(f"not JSON ({exc.msg})", line, source=source, line=n)
                    rejecting = False
                continue
            try:
                ev = build(d)
            except FeedError as exc:
                rejecting = True
                rejects.add(exc.reason, line.strip(), source=source, line=n, field=exc.field)
                rejecting = False
                continue
            yield ev
        if progress is not None:
            progress((raw or fh).tell())
    except (OSError, EOFError) as exc:  # truncated gzip, I/O error mid-file
        if rejecting:
            raise
        raise FeedError(f"read failed after line {n}: {exc}", source=source) from None
    finally:
        fh.close()
