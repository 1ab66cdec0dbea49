"""Findings exports and digests: the bytes two replays must agree on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from .findings import AnomalyFinding
from .jsonio import canonical


def export_lines(findings: Iterable[AnomalyFinding]) -> Iterator[bytes]:
    """One canonical JSON line per finding."""
    for f in findings:
        yield canonical(f.to_dict()) + b"\n"


def findings_digest(findings: Iterable[AnomalyFinding]) -> tuple[str, int]:
    """SHA-256 of the canonical export, and how many findings it covers."""
    h = hashlib.sha256()
    n = 0
    for line in export_lines(findings):
        h.update(line)
        n += 1
    return h.hexdigest(), n


def parse_time(value: str, *, option: str) -> int:
    """ISO 8601 (``2026-04-20T13:00:00Z``) or integer nanoseconds, to ns since the epoch."""
    from .errors import FlowError

    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FlowError(f"{option}: {value!r} is not an ISO 8601 time "
                        "(e.g. 2026-04-20T13:00:00Z) or integer nanoseconds") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def format_ts(ts: int) -> str:
    secs, ns = divmod(ts, 1_000_000_000)
    return datetime.fromtimestamp(secs, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + \
        f".{ns // 1_000_000:03d}Z"
