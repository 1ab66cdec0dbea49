"""Open a flow store or audit sink from a URL through the registered store backends.

``sqlite:///data/flow.db`` goes to the backend listing ``sqlite``; a bare path
(``data/flow.db``) to the backend that accepts bare paths (the SQLite plugin).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..components import AuditSink, FlowStore
from ..errors import PluginError, StoreError
from ..specs import StoreSpec

if TYPE_CHECKING:
    from ..plugin_manager import PluginManager

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def store_scheme(url: str) -> str | None:
    """The URL scheme, or None for a bare path (a Windows drive letter is a path)."""
    m = _SCHEME.match(url)
    if m is None or len(m.group(1)) == 1:
        return None
    return m.group(1).split("+", 1)[0].lower()


def _backend(url: str, pm: PluginManager, what: str) -> StoreSpec:
    scheme = store_scheme(url)
    specs = pm.store_specs()
    for spec in specs:
        if scheme is None and spec.bare_paths:
            return spec
        if scheme is not None and scheme in spec.schemes:
            return spec
    if scheme is None:
        raise PluginError(f"no store plugin accepts plain paths for the {what} {url!r}; "
                          "install one: pip install 'horizon-flow[sqlite]'")
    known = sorted({s for spec in specs for s in spec.schemes})
    raise PluginError(f"no store plugin handles {scheme}:// URLs for the {what} "
                      f"(installed schemes: {', '.join(known) or 'none'})")


def _open(url: str, pm: PluginManager | None, what: str, kind: str, read_only: bool) -> Any:
    """Open ``kind`` (flow_store | audit_sink) of the backend for ``url``.

    ``read_only`` uses the backend's read-only opener when it has one.
    """
    if pm is None:
        from ..plugin_manager import get_plugin_manager

        pm = get_plugin_manager()
    spec = _backend(url, pm, what)
    opener = getattr(spec, f"open_{kind}")
    read_only_opener = getattr(spec, f"open_{kind}_read_only")
    if read_only and read_only_opener is not None:
        opener = read_only_opener
    if opener is None:
        raise PluginError(f"store plugin {spec.name!r} ({spec.plugin}) has no {what}")
    try:
        return opener(url)
    except StoreError:
        raise
    except OSError as exc:
        raise StoreError(f"{url}: cannot open {what}: {exc.strerror or exc}") from None


def open_flow_store(url: str, pm: PluginManager | None = None, *,
                    read_only: bool = False) -> FlowStore:
    """Open a flow store; ``read_only`` for queries (falls back to a normal open)."""
    store: FlowStore = _open(url, pm, "flow store", "flow_store", read_only)
    return store


def open_audit_sink(url: str, pm: PluginManager | None = None, *,
                    read_only: bool = False) -> AuditSink:
    """Open an audit sink; ``read_only`` for verification (falls back to a normal open)."""
    sink: AuditSink = _open(url, pm, "audit log", "audit_sink", read_only)
    return sink
