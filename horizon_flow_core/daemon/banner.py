"""The one-screen start-up banner: what this process is and what it is connected to.

Built from plain facts (versions, plugins, venues, stores, routes, files) so
an operator reading the log, or an auditor reading it months later, knows
the configuration in force. Every line goes through
:func:`~horizon_flow_core.logs.redact` (URLs keep scheme and host only;
values of secret-looking environment variables are replaced by their
names), and alert routes are shown by name and the *names* of their
environment variables, never their URLs.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..logs import redact
from ..version import PLUGIN_API_VERSION, __version__


@attrs.frozen
class VenueLine:
    name: str
    plugin: str
    endpoint: str | None
    engine: str


@attrs.frozen
class BannerFacts:
    pid: int
    config_path: str | None
    config_hash: str
    run_id: str
    plugins: list[tuple[str, str, str]]  # (name, version, status)
    detectors: list[str]
    profilers: list[str]
    venues: list[VenueLine]
    flow_store: str
    audit_store: str
    routes: Mapping[str, Any]
    feeds_dir: str | None
    status_file: str
    metrics_url: str | None
    textfile: str | None
    resumed: str | None = None


def venue_endpoint(config: Any) -> str | None:
    """The WebSocket URL a venue config points at (redacted later), if it says."""
    for attr in ("effective_ws_url", "ws_url", "url"):
        value = getattr(config, attr, None)
        if isinstance(value, str) and value:
            return value
    return None


def _route(name: str, cfg: Any) -> str:
    envs = getattr(cfg, "url_env", ()) or ()
    if isinstance(envs, str):
        envs = (envs,)
    cats = getattr(cfg, "categories", ()) or ()
    sev = getattr(cfg, "severity_min", None)
    enabled = getattr(cfg, "enabled", True)
    parts = [f"url from ${', $'.join(envs)}" if envs else "no url_env"]
    parts.append(f"categories {', '.join(cats)}" if cats else "every finding category")
    if sev:
        parts.append(f"severity >= {sev}")
    if not enabled:
        parts.append("DISABLED")
    return f"{name} ({'; '.join(parts)})"


def _join(items: Iterable[str], empty: str = "none") -> str:
    items = list(items)
    return ", ".join(items) if items else empty


def banner_lines(f: BannerFacts) -> list[str]:
    active = [f"{n} {v}" for n, v, s in f.plugins if s == "active"]
    other = [f"{n} ({s})" for n, v, s in f.plugins if s != "active"]
    lines = [
        f"horizon-flow {__version__} (plugin API {PLUGIN_API_VERSION}), Python "
        f"{platform.python_version()}, pid {f.pid}, run {f.run_id}",
        f"config: {f.config_path or '(defaults)'} (sha256 {f.config_hash[:16]})",
        f"plugins: {_join(active)}" + (f"; not loaded: {_join(other)}" if other else ""),
        f"detectors: {_join(f.detectors)}; profilers: {_join(f.profilers)}",
    ]
    for v in f.venues:
        # the endpoint goes last: redaction takes a URL up to the next space
        lines.append(f"venue {v.name} ({v.plugin}), engine {v.engine}: "
                     f"{v.endpoint or 'default endpoint'}")
    lines.append(f"stores: flow {f.flow_store} ; audit {f.audit_store}")
    if not f.routes:
        lines.append("alert routes: none")
    for name, cfg in sorted(f.routes.items()):
        lines.append(f"alert route {_route(name, cfg)}")
    lines.append("feed logs: " + (f"{f.feeds_dir}/<venue>/<UTC date>.jsonl" if f.feeds_dir
                                  else "OFF (live findings cannot be replayed)"))
    # shown without its path: the redaction masks URL paths, and this one is always /metrics
    endpoint = f"{f.metrics_url.rsplit('/', 1)[0]} (/metrics)" if f.metrics_url else None
    metrics = [x for x in (endpoint, f"textfile {f.textfile}" if f.textfile else None) if x]
    lines.append(f"metrics: {_join(metrics, 'off')}; status file {f.status_file}")
    if f.resumed:
        lines.append(f.resumed)
    return [redact(line) for line in lines]


def render_banner(f: BannerFacts) -> str:
    lines = banner_lines(f)
    width = max(len(line) for line in lines)
    rule = "=" * min(width, 100)
    return "\n".join([rule, *lines, rule])
