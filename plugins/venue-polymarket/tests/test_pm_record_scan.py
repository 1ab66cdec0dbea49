"""Record a live session with the core's recorder, then scan it: same events, rejects kept."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from horizon_flow_venue_polymarket import plugin
from horizon_flow_venue_polymarket.config import PolymarketConfig
from horizon_flow_venue_polymarket.market_source import MarketChannelSource
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer
from websockets.asyncio.server import serve

from horizon_flow_core.components import SourceContext
from horizon_flow_core.config import load_config
from horizon_flow_core.errors import ConfigError
from horizon_flow_core.feeds.raw import iter_raw_recording
from horizon_flow_core.feeds.rejects import RejectLog
from horizon_flow_core.feeds.writer import RawRecorder
from horizon_flow_core.runner import run_scan
from horizon_flow_core.testing.plugins import isolated_plugin_manager

A = "76670567130917723816490572615540605537878462672464291990940067659127658071111"
B = "54179564009642723353355316176091991063553046330768303687769988635499280029688"


def test_live_recording_scans_to_the_same_events(pm_load, pm_chain_logs, tmp_path):
    frames = pm_load("nautilus_ws_market_price_change_crossing_burst_first16.jsonl")
    connections: list[int] = []

    async def handler(ws) -> None:
        connections.append(len(connections))
        await ws.recv()
        if len(connections) == 1:
            for frame in frames[:10]:
                await ws.send(orjson.dumps(frame).decode())
            await ws.send("<<garbage>>")
            await ws.close()  # -> feed.gap
            return
        for frame in frames[10:]:
            await ws.send(orjson.dumps(frame).decode())
        await ws.wait_closed()

    path = tmp_path / "polymarket.raw.jsonl"
    recorder = RawRecorder(path, "polymarket")
    live: list[Any] = []
    clock = iter(range(1_790_658_700_000_000_000, 1_790_658_800_000_000_000, 1_000))

    async def scenario() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            cfg = PolymarketConfig(ws_url=f"ws://127.0.0.1:{port}", ping_interval_s=0.05,
                                   stale_after_s=5, reconnect_initial_s=0.01,
                                   reconnect_max_s=0.02)
            ctx = SourceContext(emit=live.extend, record_frame=recorder.frame,
                                record_event=recorder.event, clock=lambda: next(clock))
            task = asyncio.create_task(MarketChannelSource(cfg, [A, B]).run(ctx))
            for _ in range(500):
                if sum(e.kind == "quote.update" for e in live) == 30:
                    break
                await asyncio.sleep(0.01)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    asyncio.run(scenario())
    # chain logs recorded by the chain source land in the same file
    for log in pm_chain_logs:
        recorder.frame(log, next(clock))
        live.extend(PolymarketNormalizer().normalize(log, None))
    recorder.close()

    kinds = [e.kind for e in live]
    assert kinds.count("feed.gap") == 2 and kinds.count("order.filled") == 4
    rejects = RejectLog(tmp_path / "rejects.jsonl")
    replayed = list(iter_raw_recording(path, PolymarketNormalizer(), rejects))
    rejects.close()
    assert [e.to_dict() for e in replayed] == [e.to_dict() for e in live]
    assert rejects.count == 1

    pm = isolated_plugin_manager(plugin)
    summary = run_scan(path, pm=pm, db="memory:", audit_db="", venue="polymarket",
                       rejects_path=tmp_path / "scan.rejects.jsonl")
    assert (summary.events, summary.rejects) == (len(live), 1)
    kept = (tmp_path / "scan.rejects.jsonl").read_text()
    assert "<<garbage>>" in kept and "not JSON" in kept


def test_venue_section_from_toml(tmp_path):
    pm = isolated_plugin_manager(plugin)
    good = tmp_path / "flow.toml"
    good.write_text('[venues.polymarket]\ntoken_ids = ["1", "2"]\nshard_size = 250\n'
                    'enrich_on_chain = true\nstale_after_s = 45.0\n')
    cfg = load_config(good, pm).venue_config("polymarket")
    assert isinstance(cfg, PolymarketConfig)
    assert (cfg.token_ids, cfg.shard_size, cfg.enrich_on_chain, cfg.stale_after_s) == (
        ("1", "2"), 250, True, 45.0)
    bad = tmp_path / "bad.toml"
    bad.write_text('[venues.polymarket]\nrpc_url = "https://leak.example/KEY"\n')
    with pytest.raises(ConfigError) as info:
        load_config(bad, pm)
    assert "rpc_url" in str(info.value)
