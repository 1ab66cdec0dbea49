"""Version of the core distribution and of the plugin API it speaks.

The plugin API version moves only when a registration record or a component
protocol changes incompatibly; hook specs evolve by adding arguments only, so
most core releases keep it.
"""

from __future__ import annotations

__version__ = "0.1.0"

#: The plugin API this core implements.
PLUGIN_API_VERSION = 1

#: Plugin API versions this core accepts. A plugin (or one of its
#: registration records) declaring another version is refused at load.
SUPPORTED_PLUGIN_API_VERSIONS: frozenset[int] = frozenset({1})


def describe_supported_api_versions() -> str:
    """Human wording of the accepted versions, for refusal messages."""
    versions = sorted(SUPPORTED_PLUGIN_API_VERSIONS)
    if len(versions) == 1:
        return f"plugin API {versions[0]}"
    return "plugin API " + ", ".join(str(v) for v in versions[:-1]) + f" or {versions[-1]}"
