"""Shared option handling: loading config with the right plugin manager."""

from __future__ import annotations

from pathlib import Path

from ..config import FlowConfig, load_config
from ..config.loader import plugins_table, read_toml
from ..plugin_manager import PluginManager, get_plugin_manager


def load(config_path: Path | None) -> tuple[FlowConfig, PluginManager]:
    """The config (defaults when no file) and the plugin manager its ``[plugins]`` asks for."""
    if config_path is None:
        pm = get_plugin_manager()
        # the defaults of every installed plugin's sections, not bare FlowConfig()
        return load_config(None, pm), pm
    raw = read_toml(config_path)
    pm = get_plugin_manager(plugins_table(raw, str(config_path)))
    return load_config(config_path, pm), pm
