"""pytest fixtures for plugin authors (registered through the ``pytest11`` entry point)."""

from __future__ import annotations

import pytest

from ..plugin_manager import PluginManager
from .feed import FeedBuilder
from .plugins import isolated_plugin_manager


@pytest.fixture
def flow_plugin_manager() -> PluginManager:
    """A plugin manager with only the core's built-ins: register what the test needs."""
    return isolated_plugin_manager()


@pytest.fixture
def feed_builder() -> FeedBuilder:
    """A :class:`FeedBuilder` on venue ``test``, market ``M``."""
    return FeedBuilder()
