"""Bad feed lines and venue frames: counted, reported with line and reason, and kept.

Nothing is lost: each reject is appended to a JSON Lines rejects file
(``{"source", "line", "reason", "raw"}``) beside the output, so it can be
inspected and re-fed once the producer is fixed. ``strict`` turns the first
reject into an error instead.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO, Any

from ..errors import FeedError
from ..jsonio import dumps

log = logging.getLogger("horizon_flow.feeds")


class RejectLog:
    """Collects rejects; writes them to ``path`` (opened on the first reject)."""

    def __init__(self, path: str | Path | None = None, *, strict: bool = False,
                 keep_examples: int = 5) -> None:
        self.path = Path(path) if path is not None else None
        self.strict = strict
        self.count = 0
        self.examples: list[str] = []
        self._keep = keep_examples
        self._fh: IO[bytes] | None = None

    def add(self, reason: str, raw: Any, *, source: str | None = None,
            line: int | None = None, field: str | None = None) -> None:
        err = FeedError(reason, source=source, line=line, field=field)
        if self.strict:
            raise err
        self.count += 1
        message = err.render()
        if len(self.examples) < self._keep:
            self.examples.append(message)
        if self.count <= 20:
            log.warning("rejected: %s", message)
        elif self.count == 21:
            log.warning("further rejects are counted and kept in %s, not logged",
                        self.path or "memory")
        if self.path is not None:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("ab")
            if isinstance(raw, bytes | bytearray):
                raw = bytes(raw).decode("utf-8", "replace")
            record = {"source": source, "line": line, "field": field, "reason": reason,
                      "raw": raw}
            self._fh.write(dumps(record) + b"\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def summary(self) -> str:
        if not self.count:
            return "no rejects"
        where = f"; kept in {self.path}" if self.path is not None else ""
        return f"{self.count} rejected line(s){where}"
