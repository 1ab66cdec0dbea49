"""Tuning options of the SQLite stores, settable as query parameters of a store URL.

Example: ``sqlite:///data/flow.db?synchronous=full&batch_size=1000``.
"""

from __future__ import annotations

from typing import Any

import attrs

#: ``synchronous`` values accepted. In WAL mode:
#: ``normal`` fsyncs only at checkpoints: a process crash (even SIGKILL) loses
#: nothing committed, an OS crash or power cut may lose the last few committed
#: transactions but never corrupts the file; ``full`` fsyncs the WAL at every
#: commit, so a committed batch survives power loss too, at a cost per flush.
SYNCHRONOUS_MODES = ("normal", "full", "extra")


def _positive_int(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def _non_negative_int(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{attribute.name} must be an integer >= 0, got {value!r}")


def _interval(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 3600.0:
        raise ValueError(f"{attribute.name} must be in [0, 3600] seconds, got {value!r}")


def _lower(value: object) -> str:
    return str(value).lower()


def _synchronous(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in SYNCHRONOUS_MODES:
        raise ValueError(f"{attribute.name} must be one of {', '.join(SYNCHRONOUS_MODES)}, "
                         f"got {value!r}")


@attrs.frozen
class SQLiteOptions:
    """How a SQLite store writes.

    ``batch_size``: buffered findings (or profiles) that trigger a flush.
    ``flush_interval_s``: the oldest buffered write is flushed after this long;
    checked on every write, and by a background timer when ``flush_timer``
    (so a quiet daemon does not sit on a finding). 0 flushes on every write.
    ``synchronous``: see :data:`SYNCHRONOUS_MODES`. The flow store defaults to
    ``normal`` (it can be rebuilt from the audit log); the audit sink to ``full``.
    ``busy_timeout_ms``: how long a writer waits for another process's lock.
    ``max_page_count``: a size cap in pages (0 = none); writes beyond it fail
    like a full disk, with the batch kept in memory.
    ``cache_mb``: SQLite's page cache per connection. The id, time, actor and
    market indexes take random inserts; once they outgrow the cache every
    flush re-reads pages from the OS (SQLite's default is 2 MB).
    ``replay_profile_batch``: during a run over a recorded feed (a run begun
    with any mode but the daemon's ``run``: scan, replay, demo, rebuild),
    actor profiles are written when this many distinct actors are buffered,
    with a flush of findings, or when the run finishes, instead of on the
    ``flush_interval_s`` clock. Profiles are derived data (rebuilt from the
    audit log if a crash loses them) and each actor's newer snapshot replaces
    the buffered one, so this writes each profile row about once per batch
    where the clock rewrote the same table pages every second: a 1M-event,
    14,000-actor scan made 135,585 page writes at the clock's cadence and
    76,560 this way. Memory: about 1.5 KB per buffered actor. 0 turns it off
    (profiles follow ``batch_size`` and ``flush_interval_s`` in every mode).
    """

    batch_size: int = attrs.field(default=500, validator=_positive_int)
    flush_interval_s: float = attrs.field(default=1.0, converter=float, validator=_interval)
    flush_timer: bool = True
    synchronous: str = attrs.field(default="normal", converter=_lower, validator=_synchronous)
    busy_timeout_ms: int = attrs.field(default=5000, validator=_non_negative_int)
    max_page_count: int = attrs.field(default=0, validator=_non_negative_int)
    cache_mb: int = attrs.field(default=64, validator=_positive_int)
    replay_profile_batch: int = attrs.field(default=10_000, validator=_non_negative_int)


_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True,
               "0": False, "false": False, "no": False, "off": False}


def options_from_query(params: list[tuple[str, str]], base: SQLiteOptions) -> SQLiteOptions:
    """Apply URL query parameters to ``base``. Raises ValueError naming the bad parameter."""
    fields = {a.name: a for a in attrs.fields(SQLiteOptions)}
    changes: dict[str, Any] = {}
    for key, raw in params:
        if key not in fields:
            raise ValueError(f"unknown store option {key!r}; expected one of "
                             f"{', '.join(sorted(fields))}")
        kind = fields[key].type
        try:
            if kind in ("int", int):
                changes[key] = int(raw)
            elif kind in ("float", float):
                changes[key] = float(raw)
            elif kind in ("bool", bool):
                changes[key] = _BOOL_WORDS[raw.lower()]
            else:
                changes[key] = raw
        except (ValueError, KeyError):
            raise ValueError(f"store option {key}={raw!r} is not a valid {kind}") from None
    return attrs.evolve(base, **changes)
