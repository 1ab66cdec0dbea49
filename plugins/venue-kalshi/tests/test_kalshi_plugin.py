"""Registration, config section, conformance and installation of the Kalshi plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import horizon_flow_venue_kalshi.plugin as plugin
import orjson
import pytest
from horizon_flow_venue_kalshi import KalshiConfig, KalshiLiveSource, KalshiNormalizer

from horizon_flow_core.config import load_config
from horizon_flow_core.errors import ConfigError
from horizon_flow_core.testing.conformance import check_venue
from horizon_flow_core.testing.plugins import isolated_plugin_manager

SSMD = Path(__file__).parent / "data" / "ssmd_ws_trade_2026-02-12.jsonl"


def test_plugin_registers_the_kalshi_venue() -> None:
    assert plugin.HORIZON_FLOW_PLUGIN_API == 1
    pm = isolated_plugin_manager(plugin)
    spec = pm.venue("kalshi")
    assert spec.config_class is KalshiConfig and spec.api_version == 1
    assert isinstance(spec.make_normalizer(None), KalshiNormalizer)
    source = spec.make_live_source(KalshiConfig(environment="demo"))
    assert isinstance(source, KalshiLiveSource) and source.venue == "kalshi"
    assert source.config.effective_ws_url == \
        "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2"


def test_entry_point_is_installed() -> None:
    (ep,) = [ep for ep in entry_points(group="horizon_flow") if ep.name == "kalshi"]
    assert ep.value == "horizon_flow_venue_kalshi.plugin"
    assert ep.dist is not None and ep.dist.name == "horizon-flow-venue-kalshi"


def test_conformance_with_the_live_trade_sample() -> None:
    frames = [orjson.loads(line) for line in SSMD.read_bytes().splitlines()]
    frames.append({"type": "orderbook_snapshot", "sid": 9, "seq": 1, "msg": {
        "market_ticker": "M", "yes": [[40, 10]], "no_dollars_fp": [["0.5500", "3.00"]]}})
    events = check_venue(KalshiNormalizer, frames)
    assert [e.kind for e in events].count("trade.tape") == 10


def test_config_section_from_toml(tmp_path: Path) -> None:
    pm = isolated_plugin_manager(plugin)
    path = tmp_path / "flow.toml"
    path.write_text(
        '[venues.kalshi]\nenvironment = "demo"\ntickers = ["KXA-1", "KXB-2"]\n'
        'channels = ["orderbook_delta", "trade", "fill", "user_orders"]\n'
        'stale_after_s = 5.0\nbackoff_max_s = 10.0\n')
    cfg = load_config(path, pm).venue_config("kalshi")
    assert isinstance(cfg, KalshiConfig)
    assert cfg.tickers == ("KXA-1", "KXB-2") and cfg.stale_after_s == 5.0
    assert cfg.effective_rest_url == "https://external-api.demo.kalshi.co/trade-api/v2"
    assert load_config(None, pm).venue_config("kalshi") == KalshiConfig()
    assert KalshiConfig().effective_ws_url == "wss://external-api-ws.kalshi.com/trade-api/ws/v2"


@pytest.mark.parametrize(("body", "words"), [
    ('api_key_id = "abc"', "api_key_id"),                  # secrets never come from config
    ('environment = "staging"', "environment"),
    ('channels = ["orderbook", "trade"]', "orderbook"),
    ("stale_after_s = 0", "stale_after_s"),
    ('ws_url = "https://example.com"', "ws_url"),
    ("backoff_jitter = 2.0", "backoff_jitter"),
    ('tickers = "KXA-1"', 'like ["KXA-1"]'),          # a string where a list belongs
    ('channels = "trade"', 'like ["trade"]'),
    ('tickers = ["KXA-1", ""]', "non-empty"),
])
def test_bad_config_is_a_one_line_error_naming_the_key(tmp_path: Path, body: str,
                                                       words: str) -> None:
    path = tmp_path / "flow.toml"
    path.write_text(f"[venues.kalshi]\n{body}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, isolated_plugin_manager(plugin))
    assert words in str(info.value) and "\n" not in str(info.value).strip()


def test_flow_plugins_list_shows_kalshi() -> None:
    flow = Path(sys.executable).parent / "flow"
    if not flow.exists():
        pytest.skip("the flow command is not installed in this environment")
    result = subprocess.run([str(flow), "plugins", "list", "--json"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    (rec,) = [p for p in json.loads(result.stdout) if p["name"] == "kalshi"]
    assert rec["status"] == "active" and rec["version"] == "0.1.0"
    assert "venue:kalshi" in rec["provides"]
