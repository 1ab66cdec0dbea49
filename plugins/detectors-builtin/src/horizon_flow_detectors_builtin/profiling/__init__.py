"""Actor profiles and the Kirilenko taxonomy (the ``kirilenko`` profiler).

:class:`KirilenkoProfiler` keeps per-actor incremental features and flushes
classified :class:`~horizon_flow_core.profiles.ActorProfile` snapshots;
:func:`classify` turns a feature dict into probabilities over the six
classes of Kirilenko, Kyle, Samadi and Tuzun (2017).
"""

from .features import ActorState
from .profiler import KirilenkoProfiler, ProfilerConfig
from .taxonomy import CITATION, TaxonomyConfig, classify, rule_scores, top_class

__all__ = [
    "CITATION", "ActorState", "KirilenkoProfiler", "ProfilerConfig", "TaxonomyConfig",
    "classify", "rule_scores", "top_class",
]
