"""Per-market thresholds: ``[detectors.<name>.markets."<market>"]`` overrides one market.

The config part runs on an isolated plugin manager; the engine part on the
built-in spoofing detector, with one spoofing episode scaled to BTC sizes
replayed in two markets.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from horizon_flow_core import ConfigError, DetectorSpec, hookimpl
from horizon_flow_core.cli.app import main
from horizon_flow_core.config import config_hash, load_config
from horizon_flow_core.engine.builder import build_engine
from horizon_flow_core.engine.per_market import PerMarketDetector
from horizon_flow_core.synthetic import write_feed
from horizon_flow_core.testing import isolated_plugin_manager


@attrs.frozen
class SizeCfg:
    min_size: float = attrs.field(default=100.0)
    window_ms: float = 1000.0

    @min_size.validator
    def _pos(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value <= 0:
            raise ValueError(f"min_size must be > 0, got {value}")


class Plugin:
    @hookimpl
    def flow_detectors(self) -> list[DetectorSpec]:
        return [DetectorSpec(name="sizer", factory=lambda c: None, config_class=SizeCfg)]


def load(tmp_path: Path, text: str):
    p = tmp_path / "flow.toml"
    p.write_text(text)
    return load_config(p, isolated_plugin_manager(Plugin()))


def test_a_market_table_overrides_only_its_keys_over_the_section(tmp_path: Path) -> None:
    cfg = load(tmp_path, """
[detectors.sizer]
window_ms = 500.0

[detectors.sizer.markets.BTC]
min_size = 2.5

[detectors.sizer.markets."hyperliquid:@107"]
window_ms = 50.0
""")
    assert cfg.detector_config("sizer") == SizeCfg(100.0, 500.0)
    assert cfg.detector_market_configs("sizer") == {
        "BTC": SizeCfg(2.5, 500.0), "hyperliquid:@107": SizeCfg(100.0, 50.0)}
    assert cfg.detector_market_configs("other") == {}


def test_overrides_are_part_of_the_config_in_force(tmp_path: Path, capfd) -> None:
    base = "[detectors.sizer]\nwindow_ms = 500.0\n"
    plain = load(tmp_path, base)
    over = load(tmp_path, base + "[detectors.sizer.markets.BTC]\nmin_size = 2.5\n")
    assert config_hash(plain) != config_hash(over)


def test_config_show_writes_each_market_back_as_a_loadable_table(tmp_path: Path,
                                                                 capfd) -> None:
    pytest.importorskip("horizon_flow_detectors_builtin")
    src = tmp_path / "flow.toml"
    src.write_text('[detectors.spoofing.markets."hyperliquid:@107"]\nmin_bait_size = 2.0\n')
    capfd.readouterr()
    assert main(["config", "show", "--config", str(src)]) == 0
    shown = capfd.readouterr().out
    assert '[detectors.spoofing.markets."hyperliquid:@107"]' in shown
    again = tmp_path / "shown.toml"
    again.write_text(shown)
    a, b = load_config(src), load_config(again)
    assert a.detector_market_configs("spoofing")["hyperliquid:@107"].min_bait_size == 2.0
    assert config_hash(a) == config_hash(b)


@pytest.mark.parametrize(("text", "expected"), [
    ("[detectors.sizer.markets.BTC]\nmin_size = 0.0",
     "detectors.sizer.markets.BTC: min_size must be > 0"),
    ("[detectors.sizer.markets.BTC]\nmin_sise = 2.0",
     "detectors.sizer.markets.BTC.min_sise: unknown key"),
    ("[detectors.sizer]\nmarkets = 3", "detectors.sizer.markets: expected a table of markets"),
    ("[detectors.sizer.markets]\nBTC = 3", "detectors.sizer.markets.BTC: expected a table"),
])
def test_a_bad_override_names_file_market_and_key(tmp_path: Path, text: str,
                                                  expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    assert expected in str(info.value) and "flow.toml" in str(info.value)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- engine


def btc_spoof(market: str, t0_ms: float):
    """A 6 BTC bait, 0.4 BTC sold meanwhile, the bait cancelled after 900 ms."""
    scripting = pytest.importorskip("horizon_flow_detectors_builtin.scripting")
    s = scripting.Script(venue="hyperliquid")
    s.at(t0_ms).snapshot([(60_000.0, 0.5), (59_999.0, 0.5)], [(60_001.0, 0.5)], market=market)
    s.at(t0_ms + 10).place("spoofer", f"{market}-bait", "buy", 59_999.0, 6.0, market=market)
    s.at(t0_ms + 300).place("spoofer", f"{market}-ask", "sell", 60_001.0, 0.4, market=market)
    s.at(t0_ms + 400).execute(taker="buyer", taker_oid=f"{market}-t", maker="spoofer",
                              maker_oid=f"{market}-ask", side="buy", price=60_001.0, size=0.4,
                              market=market)
    s.at(t0_ms + 910).cancel(f"{market}-bait")
    return s.events


OVERRIDE = '[detectors.spoofing.markets.BTC]\nmin_bait_size = 1.0\n'


def run(tmp_path: Path, text: str) -> list:
    p = tmp_path / "flow.toml"
    p.write_text(text)
    cfg = load_config(p)
    engine = build_engine(cfg, alerts=False, detectors=["spoofing"])
    found: list = []
    engine.on_finding(found.append)
    engine.ingest_many([*btc_spoof("BTC", 0), *btc_spoof("ETH", 5000)])
    engine.finish()
    return found


def test_the_override_applies_to_its_market_alone(tmp_path: Path) -> None:
    found = run(tmp_path, OVERRIDE)
    assert [(f.detector, f.market_id) for f in found] == [("spoofing", "BTC")]
    assert found[0].evidence["thresholds"]["min_bait_size"]["required"] == 1.0
    assert run(tmp_path, "") == []  # 6 BTC is far under the default 500


def test_replay_with_overrides_is_byte_identical(tmp_path: Path) -> None:
    a = [f.to_dict() for f in run(tmp_path, OVERRIDE)]
    b = [f.to_dict() for f in run(tmp_path, OVERRIDE)]
    assert a == b and a


def test_the_router_fans_out_finish_eviction_and_near_misses() -> None:
    calls: list[tuple[str, str]] = []

    class Det:
        name = "d"
        kinds = frozenset({"order.placed"})

        def __init__(self, tag: str, closeness: float) -> None:
            self.tag, self.closeness = tag, closeness

        def on_event(self, ev, ctx):
            calls.append(("event", self.tag))

        def finish(self, ctx=None):
            return [self.tag]

        def evict_idle(self, before_ts: int) -> None:
            calls.append(("evict", self.tag))

        def near_misses(self):
            return [{"closeness": self.closeness, "tag": self.tag}]

    more = Det("b", 0.9)
    more.kinds = frozenset({"book.delta"})
    r = PerMarketDetector(Det("default", 0.5), {"B": more, "A": Det("a", 0.7)})
    assert r.kinds == {"order.placed", "book.delta"} and r.name == "d"
    assert r.tag == "default"  # anything else is the default instance's
    r.on_event(type("E", (), {"market_id": "B"})(), None)
    r.on_event(type("E", (), {"market_id": "Z"})(), None)
    assert calls == [("event", "b"), ("event", "default")]
    assert r.finish() == ["default", "a", "b"]  # default first, then markets sorted
    r.evict_idle(0)
    assert calls[2:] == [("evict", "default"), ("evict", "a"), ("evict", "b")]
    assert [m["tag"] for m in r.near_misses()] == ["b", "a", "default"]


def test_explain_uses_the_market_overrides(tmp_path: Path, capfd) -> None:
    feed = tmp_path / "feed.jsonl"
    write_feed(feed, [*btc_spoof("BTC", 0), *btc_spoof("ETH", 5000)])
    cfg = tmp_path / "flow.toml"
    cfg.write_text(OVERRIDE)
    capfd.readouterr()
    assert main(["explain", "--feed-log", str(feed), "--detector", "spoofing",
                 "--config", str(cfg), "--json"]) == 0
    x = json.loads(capfd.readouterr().out)
    assert x["findings"] == 1
    assert x["finding_examples"][0]["market_id"] == "BTC"
    assert x["thresholds"]["min_bait_size"] == 500.0
    assert x["market_thresholds"]["BTC"]["min_bait_size"] == 1.0
