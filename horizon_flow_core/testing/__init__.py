"""Testing kit for plugin authors: scripted feeds, isolated plugin managers, conformance checks.

Installed as a pytest plugin (entry point ``pytest11``), so its fixtures are
available in any test suite once ``horizon-flow`` is installed:

* ``flow_plugin_manager``: a plugin manager with no entry points loaded;
* ``feed_builder``: a :class:`FeedBuilder` for scripted event sequences.

And as plain functions: :func:`registered_plugin` (register a plugin for one
block), :func:`check_detector`, :func:`check_venue`, :func:`check_store`
(conformance checks any plugin can run against itself),
:func:`check_venue_robustness` (recorded frames mutated field by field must
give a ``FrameError`` or valid events), :class:`ReplayingSource` (a fake
live venue replaying frames), and :func:`shared_fixture` /
:func:`shared_fixtures_dir` (recorded data kept outside the repository).
"""

from .conformance import check_detector, check_store, check_venue
from .feed import FeedBuilder
from .fixtures import shared_fixture, shared_fixtures_dir
from .mutations import (
    assert_venue_robust,
    check_venue_robustness,
    load_frames,
    recorded_frames,
)
from .plugins import isolated_plugin_manager, registered_plugin
from .sources import ReplayingSource, collect_source

__all__ = ["FeedBuilder", "ReplayingSource", "assert_venue_robust", "check_detector",
           "check_store", "check_venue", "check_venue_robustness", "collect_source",
           "isolated_plugin_manager", "load_frames", "recorded_frames", "registered_plugin",
           "shared_fixture", "shared_fixtures_dir"]
