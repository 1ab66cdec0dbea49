"""Taxonomy thresholds come from ``[actors.taxonomy]`` in flow.toml through the installed plugin."""

from __future__ import annotations

from pathlib import Path

import pytest
from horizon_flow_detectors_builtin.profiling import plugin as profiler_plugin
from horizon_flow_detectors_builtin.profiling.taxonomy import TaxonomyConfig

from horizon_flow_core import ConfigError
from horizon_flow_core.config import load_config
from horizon_flow_core.engine import build_engine
from horizon_flow_core.testing import isolated_plugin_manager


def test_taxonomy_thresholds_reach_the_profiler(tmp_path: Path) -> None:
    cfg_path = tmp_path / "flow.toml"
    cfg_path.write_text("[actors]\nprofile_min_events = 7\n\n[actors.taxonomy]\n"
                        "directional_share = 0.25\n")
    pm = isolated_plugin_manager(profiler_plugin)
    cfg = load_config(cfg_path, pm)
    assert cfg.section("actors.taxonomy") == TaxonomyConfig(directional_share=0.25)
    engine = build_engine(cfg, pm)
    profiler = engine._profilers[0].component
    assert profiler.config.taxonomy.directional_share == 0.25
    assert profiler.config.profile_min_events == 7


def test_unknown_taxonomy_key_is_named(tmp_path: Path) -> None:
    cfg_path = tmp_path / "flow.toml"
    cfg_path.write_text("[actors.taxonomy]\ndirectional = 0.25\n")
    with pytest.raises(ConfigError, match="actors.taxonomy.directional: unknown key"):
        load_config(cfg_path, isolated_plugin_manager(profiler_plugin))
