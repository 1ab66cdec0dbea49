"""horizon-flow's built-in detectors, actor profiler and taxonomy.

The seven detectors live in :mod:`horizon_flow_detectors_builtin.detectors`,
one module and one config class each; :mod:`.plugin` registers them with
horizon-flow. Every detector also runs on its own (no engine) through
:func:`horizon_flow_detectors_builtin.harness.drive`.
"""

from __future__ import annotations

__version__ = "0.1.0"
