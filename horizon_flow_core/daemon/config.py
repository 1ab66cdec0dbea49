"""``[daemon]``, ``[metrics]`` and ``[logging]``: the settings of ``flow run``.

Registered by the core's built-in plugin as config sections, so unknown keys,
wrong types and out-of-range values are errors naming the file and key like
every other section. Example::

    [daemon]
    venues = ["hyperliquid", "kalshi"]   # default: every [venues.X] table in the file
    data_dir = "data"                    # feed logs, status file, alert counters
    feed_stale_after_s = 120             # `flow health` fails a venue quiet this long

    [metrics]
    port = 9464                          # -1 = no endpoint, 0 = any free port
    textfile = "/var/lib/node_exporter/textfile/flow.prom"

    [logging]
    format = "json"                      # or "plain"
    file = "logs/flow.log"               # reopened on SIGHUP (logrotate)
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any

import attrs


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _fraction(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 < value <= 1:
        raise ValueError(f"{attribute.name} must be in (0, 1], got {value!r}")


def _per_venue(instance: Any, attribute: attrs.Attribute[Any], value: dict[str, float]) -> None:
    for venue, seconds in value.items():
        if not seconds > 0:
            raise ValueError(f"{attribute.name}.{venue} must be > 0, got {seconds!r}")


def _port(instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if not -1 <= value <= 65535:
        raise ValueError(f"{attribute.name} must be -1 (off), 0 (any free port) or a TCP port "
                         f"up to 65535, got {value!r}")


def _as_list(value: Any) -> Any:
    # a TOML string where a list belongs is left as is, for _names to refuse by name
    return value if isinstance(value, str) else list(value)


def _names(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, str):
        raise ValueError(f"{attribute.name}: expected a list of names like [\"{value}\"], "
                         "got a string")
    for v in value:
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"{attribute.name}: expected non-empty names, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{attribute.name}: a name is listed twice in {value!r}")


def _format(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in ("plain", "json"):
        raise ValueError(f"{attribute.name} must be \"plain\" or \"json\", got {value!r}")


def _level_name(name: str) -> bool:
    return isinstance(logging.getLevelName(name.upper()), int)


def _level(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not _level_name(value):
        raise ValueError(f"{attribute.name} must be a logging level (DEBUG, INFO, WARNING, "
                         f"ERROR, CRITICAL), got {value!r}")


def _levels(instance: Any, attribute: attrs.Attribute[Any], value: dict[str, str]) -> None:
    for logger, level in value.items():
        if not logger.startswith("horizon_flow") and logger not in _THIRD_PARTY_OK:
            raise ValueError(f"{attribute.name}.{logger}: only horizon_flow.* loggers and "
                             f"{', '.join(sorted(_THIRD_PARTY_OK))} can be set here")
        if not isinstance(level, str) or not _level_name(level):
            raise ValueError(f"{attribute.name}.{logger} must be a logging level, got {level!r}")


_THIRD_PARTY_OK = frozenset({"websockets", "web3", "urllib3", "apprise", "asyncio"})


@attrs.frozen
class DaemonConfig:
    """``[daemon]``: what ``flow run`` starts and how it keeps house."""

    #: venues to run; empty = every ``[venues.<name>]`` table present in the config file
    # typed Any so that cattrs hands a string through whole (list[str] would split it)
    venues: Any = attrs.field(factory=list, converter=_as_list, validator=_names)
    #: one engine (own thread, own detector state) per venue; false = one engine for all,
    #: whose findings then replay only from all venues' feeds together
    engine_per_venue: bool = True
    #: base directory for feed logs, the status file and component files
    data_dir: str = "data"
    #: daily raw feed logs go to ``<feeds_dir>/<venue>/<YYYY-MM-DD>.jsonl`` (UTC days);
    #: empty = ``<data_dir>/feeds``
    feeds_dir: str = ""
    #: record every raw frame (turning this off makes live findings unreproducible)
    record_feeds: bool = True
    #: status file read by ``flow health``; empty = ``<data_dir>/flow.status.json``
    status_file: str = ""
    status_interval_s: float = attrs.field(default=5.0, validator=_positive)
    #: a venue with no frame for this long fails ``flow health`` (and shows in the metrics)
    feed_stale_after_s: float = attrs.field(default=120.0, validator=_positive)
    #: per-venue exceptions, e.g. ``{ kalshi = 600.0 }`` for venues quiet by nature
    venue_stale_after_s: dict[str, float] = attrs.field(factory=dict, validator=_per_venue)
    #: event batches waiting per engine before the sources are held back (never dropped)
    queue_size: int = attrs.field(default=10_000, validator=_positive)
    #: a queue this full counts as backed up in ``flow health``
    queue_backed_up_fraction: float = attrs.field(default=0.8, validator=_fraction)
    #: the audit log and the store are flushed at least this often (wall clock)
    flush_interval_s: float = attrs.field(default=1.0, validator=_positive)
    #: the audit chain is re-verified (incrementally) this often
    chain_verify_interval_s: float = attrs.field(default=300.0, validator=_positive)
    #: on shutdown, the longest wait for the engines to drain their queues
    drain_timeout_s: float = attrs.field(default=30.0, validator=_positive)
    #: on shutdown, the longest wait for alert routes to deliver what is queued
    alert_drain_timeout_s: float = attrs.field(default=10.0, validator=_positive)
    #: a live source that fails is restarted after a backoff from ``restart_min_s``
    #: doubling up to ``restart_max_s``
    restart_min_s: float = attrs.field(default=1.0, validator=_positive)
    restart_max_s: float = attrs.field(default=60.0, validator=_positive)
    #: on restart, findings audited within this many seconds are remembered so a frame the
    #: venue sends again does not audit or alert the same finding twice
    resume_lookback_s: float = attrs.field(default=86_400.0, validator=_positive)
    #: at most this many of them per venue
    resume_max_findings: int = attrs.field(default=100_000, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.restart_max_s < self.restart_min_s:
            raise ValueError(f"restart_max_s ({self.restart_max_s}) must be >= restart_min_s "
                             f"({self.restart_min_s})")

    def stale_after(self, venue: str) -> float:
        return self.venue_stale_after_s.get(venue, self.feed_stale_after_s)

    def feeds_path(self) -> Path:
        return Path(self.feeds_dir) if self.feeds_dir else Path(self.data_dir) / "feeds"

    def status_path(self) -> Path:
        return Path(self.status_file) if self.status_file else (
            Path(self.data_dir) / "flow.status.json")


@attrs.frozen
class MetricsConfig:
    """``[metrics]``: Prometheus text on a loopback port and/or as a node_exporter textfile."""

    #: TCP port of ``GET /metrics``; -1 = no endpoint; 0 = any free port (see the status file)
    port: int = attrs.field(default=-1, validator=_port)
    #: address to bind; only loopback unless ``allow_remote`` (there is no authentication)
    host: str = "127.0.0.1"
    allow_remote: bool = False
    #: write the same text to this file atomically every ``textfile_interval_s``; empty = off
    textfile: str = ""
    textfile_interval_s: float = attrs.field(default=15.0, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(f"host {self.host!r} is not a loopback address; the metrics "
                             "endpoint has no authentication (set allow_remote = true to "
                             "expose it anyway)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@attrs.frozen
class LoggingConfig:
    """``[logging]``: format, file and levels of the ``horizon_flow`` loggers."""

    #: ``plain`` (time level logger message) or ``json`` (one object per line)
    format: str = attrs.field(default="plain", validator=_format)
    #: log file (reopened on SIGHUP, for logrotate); empty = standard error
    file: str = ""
    #: level of the ``horizon_flow`` hierarchy (the engine logs at INFO)
    level: str = attrs.field(default="INFO", validator=_level)
    #: per-logger levels; detectors stay at WARNING in production
    levels: dict[str, str] = attrs.field(
        factory=lambda: {"horizon_flow.detectors": "WARNING"}, validator=_levels)
    #: level of third-party libraries (websockets, urllib3...), all redacted
    third_party_level: str = attrs.field(default="WARNING", validator=_level)


def section(config: Any, path: str, cls: type[Any]) -> Any:
    """The structured section, or its defaults when the file has no such table."""
    value = config.section(path) if config is not None else None
    return value if isinstance(value, cls) else cls()
