"""``flow plugins new``: scaffold a complete plugin distribution that passes its own tests.

>>> from horizon_flow_core.scaffold import scaffold
>>> result = scaffold("detector", "late-ramp", "plugins")   # doctest: +SKIP
>>> result.names.dist                                        # doctest: +SKIP
'horizon-flow-detector-late-ramp'
"""

from .generator import Scaffold, render, scaffold
from .names import KINDS, PluginNames, ScaffoldError, core_requirement, plugin_names

__all__ = ["KINDS", "PluginNames", "Scaffold", "ScaffoldError", "core_requirement",
           "plugin_names", "render", "scaffold"]
