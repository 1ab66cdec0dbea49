"""Exact time conversion, the config section and the subscription plan."""

from __future__ import annotations

import random

import attrs
import pytest
from horizon_flow_venue_hyperliquid import HyperliquidConfig, HyperliquidSource
from horizon_flow_venue_hyperliquid.config import DEFAULT_WS_URL
from horizon_flow_venue_hyperliquid.subscriptions import Subscription, plan_connections
from horizon_flow_venue_hyperliquid.timeparse import any_to_ns, iso_to_ns, ms_to_ns

from horizon_flow_core.errors import FrameError


@pytest.mark.parametrize(("text", "ns"), [
    ("2025-06-24T02:56:36.172847427", 1750733796172847427),  # node_trades
    ("2024-01-01T12:00:01.138942031", 1704110401138942031),  # S3 archive
    ("2026-09-09T01:57:29", 1788919049000000000),  # no fraction
    ("1970-01-01T00:00:00.100", 100_000_000),  # 3 digits = 100 ms
    ("1970-01-01T00:00:00.000000001", 1),
    ("2024-01-01T00:00:00.000Z", 1704067200000000000),
    ("2024-01-01T01:00:00+01:00", 1704067200000000000),
    ("2024-01-01 00:00:00.5", 1704067200500000000),
])
def test_iso_times_to_exact_nanoseconds(text: str, ns: int) -> None:
    assert iso_to_ns(text, "time") == ns


def test_no_float_rounding_at_nanosecond_precision() -> None:
    # a float of seconds cannot hold this value; the integer path must (the last
    # nanosecond before 2200, the latest time accepted)
    t = "2199-12-31T23:59:59.999999999"
    assert iso_to_ns(t, "time") == 7258118399999999999
    assert float(7258118399999999999) != 7258118399999999999


def test_milliseconds_and_bad_times() -> None:
    assert ms_to_ns(1704110399915, "time") == 1704110399915000000
    assert ms_to_ns("1704110399915", "time") == 1704110399915000000
    assert any_to_ns("2024-01-01T00:00:00", "t") == 1704067200000000000
    assert any_to_ns(1, "t") == 1_000_000
    for bad in (-1, 1.5, None, "soon", [1]):
        with pytest.raises(FrameError, match="milliseconds|negative time"):
            ms_to_ns(bad, "time")
    for bad in ("2024-13-01T00:00:00", "2024-01-01", "2024-01-01T00:00:00.1234567891", 5):
        with pytest.raises(FrameError):
            iso_to_ns(bad, "time")


# ---------------------------------------------------------------------------- config


def test_config_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPERLIQUID_WS_URL", raising=False)
    monkeypatch.delenv("HYPERLIQUID_API_URL", raising=False)
    cfg = HyperliquidConfig()
    assert cfg.ws_url == DEFAULT_WS_URL and cfg.info_url == "https://api.hyperliquid.xyz/info"
    assert cfg.subscription_cap == 1000 and cfg.ping_interval_s == 50.0
    assert cfg.channels == ("trades", "l2Book", "bbo")
    monkeypatch.setenv("HYPERLIQUID_WS_URL", "ws://127.0.0.1:9/ws")
    monkeypatch.setenv("HYPERLIQUID_API_URL", "http://127.0.0.1:9/")
    cfg = HyperliquidConfig(wallets=["0xABC", "0xabc", " 0xDef "], coins=["BTC"])
    assert cfg.ws_url == "ws://127.0.0.1:9/ws" and cfg.info_url == "http://127.0.0.1:9/info"
    assert cfg.wallets == ("0xabc", "0xdef") and cfg.coins == ("BTC",)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("ws_url", "http://x", "ws_url"),
    ("info_url", "ftp://x", "info_url"),
    ("ping_interval_s", 60.0, "idle limit"),
    ("ping_interval_s", 0, "must be > 0"),
    ("subscription_cap", 0, "must be > 0"),
    ("reconnect_max_s", 0.1, "reconnect_max_s"),
    ("channels", ("trades", "candle"), "unknown channel"),
    ("wallet_channels", ("l2Book",), "unknown channel"),
])
def test_config_rejects_bad_values(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HyperliquidConfig(**{field: value})


def test_config_is_frozen_with_defaults_for_every_field() -> None:
    assert all(f.default is not attrs.NOTHING for f in attrs.fields(HyperliquidConfig))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        HyperliquidConfig().coins = ("X",)  # type: ignore[misc]


# ---------------------------------------------------------------------------- plan


def test_plan_spreads_coins_and_gives_each_wallet_its_own_connection() -> None:
    cfg = HyperliquidConfig(wallets=["0xA", "0xB"], max_subscriptions_per_connection=30)
    coins = [f"C{i}" for i in range(28)]
    plan = plan_connections(coins, cfg)
    names = [c.name for c in plan.connections]
    assert names == ["market-0", "market-1", "market-2", "wallet-0xa", "wallet-0xb"]
    assert [len(c.subscriptions) for c in plan.connections] == [30, 30, 24, 2, 2]
    assert plan.connections[0].markets == tuple(coins[:10])
    # a coin's three subscriptions stay on one connection
    assert plan.connections[0].subscriptions[:3] == (
        Subscription("trades", coin="C0"), Subscription("l2Book", coin="C0"),
        Subscription("bbo", coin="C0"))
    assert plan.connections[3].subscriptions == (Subscription("orderUpdates", user="0xa"),
                                                 Subscription("userFills", user="0xa"))
    assert plan.connections[3].wallet == "0xa"
    assert plan.subscription_count == 88 and not plan.warnings
    assert Subscription("trades", coin="BTC").message() == {
        "method": "subscribe", "subscription": {"type": "trades", "coin": "BTC"}}


def test_plan_respects_the_caps_and_says_what_it_dropped() -> None:
    cfg = HyperliquidConfig(wallets=[f"0x{i}" for i in range(12)], subscription_cap=40)
    plan = plan_connections([f"C{i}" for i in range(10)], cfg)
    # max_users (10) drops two; one connection must stay for the coins (10 connections)
    assert plan.dropped_wallets == ("0x10", "0x11", "0x9")
    assert plan.subscription_count <= 40
    assert plan.dropped_coins == ("C7", "C8", "C9")  # (40 - 9 * 2) // 3 = 7 coins fit
    assert any("max_users" in w for w in plan.warnings)
    assert any("max_connections" in w for w in plan.warnings)
    assert any("subscription_cap" in w for w in plan.warnings)
    assert len(plan.connections) <= cfg.max_connections
    small = HyperliquidConfig(max_connections=2, max_subscriptions_per_connection=3)
    squeezed = plan_connections(["A", "B", "C"], small)
    assert len(squeezed.connections) == 2 and squeezed.subscription_count == 9
    assert any("more than max_subscriptions_per_connection" in w for w in squeezed.warnings)


def test_backoff_grows_caps_and_jitters_reproducibly() -> None:
    cfg = HyperliquidConfig(reconnect_min_s=1.0, reconnect_max_s=8.0, reconnect_factor=2.0)
    a = HyperliquidSource(cfg, rng=random.Random(7))
    b = HyperliquidSource(cfg, rng=random.Random(7))
    delays = [a._backoff(n) for n in range(6)]
    assert delays == [b._backoff(n) for n in range(6)]
    for n, d in enumerate(delays):
        base = min(8.0, 2.0 ** n)
        assert base * 0.5 <= d < base
