"""The seven detectors through the real engine and the real plugin manager."""

from __future__ import annotations

import pytest
from horizon_flow_detectors_builtin import episodes
from horizon_flow_detectors_builtin.harness import drive
from horizon_flow_detectors_builtin.plugin import BUILTIN_DETECTORS, default_detectors
from horizon_flow_detectors_builtin.scripting import Script

from horizon_flow_core.config import FlowConfig
from horizon_flow_core.engine import FlowEngine, build_engine
from horizon_flow_core.jsonio import canonical
from horizon_flow_core.testing.conformance import check_detector


def all_episodes() -> tuple[Script, dict[str, str]]:
    """Every reference episode, each in its own market, one after another."""
    s = Script(venue="demo")
    t = 0.0
    markets = {}
    for category, write in episodes.EPISODES.items():
        market = f"mkt-{category}"
        markets[category] = market
        t = write(s, market=market, t_ms=t) + 1000.0
    return s, markets


def run_engine(engine: FlowEngine, events) -> list:
    out = []
    for ev in events:
        out.extend(engine.ingest(ev))
    out.extend(engine.finish())
    return out


def test_every_reference_episode_fires_its_detector_through_the_engine():
    s, markets = all_episodes()
    findings = run_engine(FlowEngine(detectors=default_detectors()), s.events)
    by_category = {}
    for f in findings:
        by_category.setdefault(f.category, []).append(f)
    assert sorted(by_category) == sorted(episodes.EPISODES)
    for category, fs in by_category.items():
        assert len(fs) == 1, (category, [f.message for f in fs])
        assert fs[0].market_id == markets[category]
        assert fs[0].id and fs[0].seq > 0 and fs[0].venue == "demo"


def test_engine_and_standalone_harness_agree():
    s, _ = all_episodes()
    via_engine = run_engine(FlowEngine(detectors=default_detectors()), s.events)
    standalone = []
    for det in default_detectors():
        standalone.extend(drive(det, s.events))
    key = lambda f: (f.detector, f.id)  # noqa: E731
    assert sorted((f.detector, f.id) for f in via_engine) == sorted(map(key, standalone))


def test_replay_is_byte_identical():
    s, _ = all_episodes()
    a = [canonical(f.to_dict()) for f in run_engine(FlowEngine(detectors=default_detectors()),
                                                      s.events)]
    b = [canonical(f.to_dict()) for f in run_engine(FlowEngine(detectors=default_detectors()),
                                                      s.events)]
    assert a == b and len(a) == 7


def test_registered_through_the_installed_entry_point():
    engine = build_engine(FlowConfig(), alerts=False)
    names = engine.detector_names
    names = names() if callable(names) else names
    for cls, _, _ in BUILTIN_DETECTORS:
        assert cls.name in names
    s, _ = all_episodes()
    cats = {f.category for f in run_engine(engine, s.events) if f.detector in
            {c.name for c, _, _ in BUILTIN_DETECTORS}}
    assert cats == set(episodes.EPISODES)


@pytest.mark.parametrize("entry", BUILTIN_DETECTORS, ids=lambda e: e[0].name)
def test_conformance(entry):
    cls, cfg_cls, _ = entry
    check_detector(cls, cfg_cls)
    s, _ = all_episodes()
    check_detector(cls, cfg_cls, feed=s.events)


@pytest.mark.parametrize("entry", BUILTIN_DETECTORS, ids=lambda e: e[0].name)
def test_works_with_no_config_and_declares_its_kinds(entry):
    cls, cfg_cls, _ = entry
    det = cls()
    assert det.config == cfg_cls()
    assert det.kinds and all(isinstance(k, str) for k in det.kinds)
    assert det.near_misses() == []
    assert det.finish(None) == []
    det.evict_idle(0)


def test_deployment_thresholds_load_from_toml(tmp_path):
    from horizon_flow_core.config import load_config

    path = tmp_path / "flow.toml"
    path.write_text(
        "[detectors.spoofing]\nmin_bait_size = 500.0\nbait_to_aggressor_ratio = 5.0\n"
        "cancel_window_ms = 2000.0\nmin_book_imbalance = 0.3\n\n"
        "[detectors.layering]\nmin_layers = 4\ncancel_within_ms = 3000.0\n")
    cfg = load_config(path)
    spoof = cfg.detector_config("spoofing")
    assert (spoof.min_bait_size, spoof.bait_to_aggressor_ratio, spoof.cancel_window_ms,
            spoof.min_book_imbalance) == (500.0, 5.0, 2000.0, 0.3)
    assert cfg.detector_config("layering").min_layers == 4
    engine = build_engine(cfg, alerts=False)
    s, _ = all_episodes()
    cats = {f.category for f in run_engine(engine, s.events)}
    assert "layering" not in cats  # the reference episode has 3 layers, the config wants 4
    assert {"spoofing", "wash_trade", "iceberg"} <= cats
