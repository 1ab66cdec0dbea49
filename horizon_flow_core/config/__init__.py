"""Configuration: TOML in, typed attrs classes out, every error naming file and key."""

from .loader import (
    config_hash,
    config_to_dict,
    load_config,
    parse_config,
    render_toml,
)
from .model import (
    ActorsConfig,
    AlertsConfig,
    EngineConfig,
    FlowConfig,
    PluginsConfig,
    StoresConfig,
    WindowsConfig,
)

__all__ = [
    "ActorsConfig", "AlertsConfig", "EngineConfig", "FlowConfig", "PluginsConfig",
    "StoresConfig", "WindowsConfig", "config_hash", "config_to_dict", "load_config",
    "parse_config", "render_toml",
]
