"""The composite live source: Gamma slug lookup, market channel and RTDS activity together."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from horizon_flow_venue_polymarket.config import PolymarketConfig
from horizon_flow_venue_polymarket.live import PolymarketLiveSource
from horizon_flow_venue_polymarket.plugin import flow_venues, make_live_source
from websockets.asyncio.server import serve

from horizon_flow_core.components import SourceContext
from horizon_flow_core.errors import ConfigError, FlowError

UP = "104239898038807136052399800151408521467737075933964991162589336683346093173875"
DOWN = "71183960810705820955071415844881728181970340514894896943812046065452395013351"
SLUG = "btc-updown-5m-1773307200"


class Gamma:
    """``GET /markets?slug=`` on 127.0.0.1, answering with the recorded Gamma market."""

    def __init__(self, market: dict) -> None:
        seen = self.paths = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                body = orjson.dumps([market] if SLUG in self.path else [])
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_slugs_resolve_and_both_feeds_share_one_stream(pm_load):
    gamma = Gamma(pm_load("nautilus_gamma_market.json"))
    market_subs: list[dict] = []
    rtds_subs: list[dict] = []

    async def market(ws) -> None:
        market_subs.append(orjson.loads(await ws.recv()))
        await ws.send(orjson.dumps({
            "event_type": "book", "asset_id": UP, "market": "0x78", "timestamp": "1773307201000",
            "hash": "h1", "bids": [{"price": "0.49", "size": "10"}, {"price": "0.5", "size": "5"}],
            "asks": [{"price": "0.52", "size": "3"}, {"price": "0.51", "size": "7"}]}).decode())
        await ws.wait_closed()

    async def rtds(ws) -> None:
        rtds_subs.append(orjson.loads(await ws.recv()))
        await ws.send(orjson.dumps({
            "topic": "activity", "type": "trades", "timestamp": 1773307202000,
            "connection_id": "x", "payload": {
                "asset": DOWN, "conditionId": "0x78", "side": "SELL", "price": 0.49,
                "size": 12, "timestamp": 1773307202,
                "proxyWallet": "0xAbC0000000000000000000000000000000000001",
                "transactionHash": "0x" + "cd" * 32, "slug": SLUG}}).decode())
        await ws.wait_closed()

    events: list[Any] = []
    got = asyncio.Event()

    def emit(evs: list[Any]) -> None:
        events.extend(evs)
        if len(events) >= 2:
            got.set()

    async def scenario() -> PolymarketLiveSource:
        async with serve(market, "127.0.0.1", 0) as m, serve(rtds, "127.0.0.1", 0) as r:
            cfg = PolymarketConfig(
                market_slugs=[SLUG], gamma_url=gamma.url,
                ws_url=f"ws://127.0.0.1:{m.sockets[0].getsockname()[1]}",
                rtds_url=f"ws://127.0.0.1:{r.sockets[0].getsockname()[1]}",
                ping_interval_s=0.05, stale_after_s=5.0, reconnect_initial_s=0.01,
                reconnect_max_s=0.05)
            source = PolymarketLiveSource(cfg, environ={})
            task = asyncio.create_task(source.run(SourceContext(emit=emit)))
            await asyncio.wait_for(got.wait(), 10)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        return source

    try:
        source = asyncio.run(scenario())
    finally:
        gamma.close()
    assert gamma.paths == [f"/markets?slug={SLUG}"]
    assert source.token_ids == [UP, DOWN] and source.identity_source() == "activity"
    assert market_subs == [{"assets_ids": [UP, DOWN], "type": "market",
                            "custom_feature_enabled": True}]
    assert rtds_subs == [{"action": "subscribe", "subscriptions": [
        {"topic": "activity", "type": "trades", "filters": orjson.dumps(
            {"market_slug": SLUG}).decode()}]}]
    book = next(e for e in events if e.kind == "book.snapshot")
    assert book.bids[0] == (0.5, 5.0) and book.asks[0] == (0.51, 7.0)
    assert book.extra["outcome"] == "Up" and book.extra["slug"] == SLUG  # from Gamma
    fill = next(e for e in events if e.kind == "order.filled")
    assert (fill.actor_id, fill.side, fill.market_id, fill.extra["outcome"]) == (
        "0xabc0000000000000000000000000000000000001", "sell", DOWN, "Down")


def test_identity_source_choice_and_bad_setups():
    cfg = PolymarketConfig(token_ids=["1"])
    assert PolymarketLiveSource(cfg, environ={}).identity_source() == "activity"
    env = {"POLYGON_RPC_URL": "https://polygon.example/v2/KEY"}
    assert PolymarketLiveSource(cfg, environ=env).identity_source() == "chain"
    off = PolymarketConfig(token_ids=["1"], chain_follow=False, activity_feed=False)
    assert PolymarketLiveSource(off, environ=env).identity_source() is None
    nothing = PolymarketConfig(activity_feed=False)
    with pytest.raises(ConfigError, match="token_ids or market_slugs"):
        asyncio.run(PolymarketLiveSource(nothing, environ={}).run(SourceContext(emit=print)))


def test_unknown_slug_is_a_clear_error(pm_load):
    gamma = Gamma(pm_load("nautilus_gamma_market.json"))
    try:
        cfg = PolymarketConfig(market_slugs=["no-such-market"], gamma_url=gamma.url)
        with pytest.raises(FlowError, match="no-such-market"):
            asyncio.run(PolymarketLiveSource(cfg, environ={}).run(SourceContext(emit=print)))
    finally:
        gamma.close()


def test_plugin_registers_the_venue_without_importing_web3():
    import subprocess
    import sys

    code = ("import sys, horizon_flow_venue_polymarket.plugin as p; specs = p.flow_venues(); "
            "print(specs[0].name, 'web3' in sys.modules, 'websockets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["polymarket", "False", "False"]
    [spec] = flow_venues()
    assert spec.config_class is PolymarketConfig
    assert isinstance(make_live_source(None), PolymarketLiveSource)


def test_config_validation():
    with pytest.raises(ValueError, match="ws_url"):
        PolymarketConfig(ws_url="http://not-a-websocket")
    with pytest.raises(ValueError, match="shard_size"):
        PolymarketConfig(shard_size=0)
    with pytest.raises(ValueError, match="exchange_addresses_v1"):
        PolymarketConfig(exchange_addresses_v1=["0x123"])
    with pytest.raises(ValueError, match="reconnect_max_s"):
        PolymarketConfig(reconnect_initial_s=5, reconnect_max_s=1)
    assert PolymarketConfig(token_ids=["1", "2"]).token_ids == ("1", "2")
