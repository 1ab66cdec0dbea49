"""Isolated plugin managers and temporary registration, for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..plugin_manager import PluginManager, PluginRecord


def isolated_plugin_manager(*plugins: Any, **kwargs: Any) -> PluginManager:
    """A plugin manager with only the core's built-ins and the given plugin objects."""
    pm = PluginManager(load_entrypoints=False, **kwargs)
    for i, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or f"test-plugin-{i}"
        pm.register(plugin, name=name)
    return pm


@contextmanager
def registered_plugin(pm: PluginManager, plugin: Any, name: str | None = None
                      ) -> Iterator[PluginRecord]:
    """Register ``plugin`` on ``pm`` for the duration of the block."""
    rec = pm.register(plugin, name=name)
    try:
        yield rec
    finally:
        pm.unregister(rec.name)
