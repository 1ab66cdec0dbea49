"""The live market channel against a real WebSocket server on 127.0.0.1.

The server replays recorded frames, then drops the connection; on the next
connection it sends garbage, re-sends a book and goes silent; on the third it
answers PINGs and prints a trade. The source must resubscribe each time,
emit feed.gap and feed.stale, reject the garbage, dedupe the book, and record
every frame before normalizing, so that the recording replays to the same
events.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from horizon_flow_venue_polymarket.config import PolymarketConfig
from horizon_flow_venue_polymarket.market_source import MarketChannelSource, shard
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer
from websockets.asyncio.server import serve

from horizon_flow_core.components import SourceContext

A = "76670567130917723816490572615540605537878462672464291990940067659127658071111"
B = "54179564009642723353355316176091991063553046330768303687769988635499280029688"


def fast_config(**over: Any) -> PolymarketConfig:
    base = dict(ping_interval_s=0.05, stale_after_s=0.5, open_timeout_s=2.0,
                reconnect_initial_s=0.01, reconnect_max_s=0.05)
    base.update(over)
    return PolymarketConfig(**base)


class Recorder:
    """A SourceContext that logs every call in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.events: list[Any] = []
        self.rejects: list[tuple[str, Any]] = []
        self.changed = asyncio.Event()
        self._now = 1_000

    def ctx(self) -> SourceContext:
        return SourceContext(emit=self._emit, record_frame=self._frame,
                             record_event=lambda ev: self.log.append(("event", ev)),
                             reject=self._reject, clock=self._clock)

    def recorded_frames(self) -> list[Any]:
        return [payload[0] for what, payload in self.log if what == "frame"]

    def _clock(self) -> int:  # a deterministic clock: the recording does not depend on timing
        self._now += 1
        return self._now

    def _frame(self, frame: Any, recv_ts: int) -> None:
        self.log.append(("frame", (frame, recv_ts)))
        self.changed.set()

    def _emit(self, events: list[Any]) -> None:
        self.log.append(("emit", list(events)))
        self.events.extend(events)
        self.changed.set()

    def _reject(self, reason: str, frame: Any) -> None:
        self.rejects.append((reason, frame))
        self.changed.set()

    async def until(self, predicate, timeout: float = 10.0) -> None:
        async def wait() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), timeout)


def test_replay_drop_garbage_silence_reconnect(pm_load):
    frames = pm_load("nautilus_ws_market_price_change_crossing_burst_first16.jsonl")
    trade = {"event_type": "last_trade_price", "asset_id": A, "market": frames[0]["market"],
             "price": "0.36", "side": "SELL", "size": "20", "fee_rate_bps": "0",
             "timestamp": "1790658699000",
             "transaction_hash": "0x" + "ab" * 32}
    received: list[list[str]] = []  # per connection: every text the client sent

    async def handler(ws) -> None:
        conn = len(received)
        got: list[str] = []
        received.append(got)
        got.append(await ws.recv())  # the subscription
        if conn == 0:  # replay, then drop the connection without a close handshake
            for frame in frames[:8]:
                await ws.send(orjson.dumps(frame).decode())
            await ws.send(orjson.dumps([frames[8]]).decode())  # frames may come as arrays
            await asyncio.sleep(0.05)
            ws.transport.abort()
            return
        if conn == 1:  # garbage, a re-sent book, the rest, then silence
            await ws.send("}{ definitely not json")
            await ws.send(orjson.dumps(frames[0]).decode())
            for frame in frames[9:]:
                await ws.send(orjson.dumps(frame).decode())
            async for message in ws:  # stay silent; keep collecting the client's PINGs
                got.append(message)
            return
        await ws.send(orjson.dumps(trade).decode())
        async for message in ws:
            got.append(message)
            if message == "PING":
                await ws.send("PONG")

    async def scenario() -> Recorder:
        rec = Recorder()
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            cfg = fast_config(ws_url=f"ws://127.0.0.1:{port}")
            source = MarketChannelSource(cfg, [A, B])
            task = asyncio.create_task(source.run(rec.ctx()))
            await rec.until(lambda: any(e.kind == "trade.tape" for e in rec.events))
            await rec.until(lambda: rec.recorded_frames().count("PONG") >= 1)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            assert source.feeds[0].connections == 3
        return rec

    rec = asyncio.run(scenario())

    # resubscribed on every connection with the same assets
    assert len(received) == 3
    for got in received:
        assert orjson.loads(got[0]) == {"assets_ids": [A, B], "type": "market",
                                        "custom_feature_enabled": True}
    assert received[1].count("PING") >= 2  # heartbeats kept going while the server was silent

    kinds = [e.kind for e in rec.events]
    assert kinds.count("book.snapshot") == 1  # the re-sent book was a duplicate
    assert kinds.count("book.delta") == 30 and kinds.count("quote.update") == 30
    assert kinds.count("trade.tape") == 1
    gaps = [e for e in rec.events if e.kind == "feed.gap"]
    stales = [e for e in rec.events if e.kind == "feed.stale"]
    assert sorted(e.market_id for e in gaps) == sorted([A, B])
    assert sorted(e.market_id for e in stales) == sorted([A, B])
    assert all(e.extra["feed"] == "market" and e.extra["reason"] for e in gaps + stales)
    # gap after the first connection's frames, stale after the second's
    assert kinds.index("feed.gap") < kinds.index("feed.stale") < kinds.index("trade.tape")

    assert len(rec.rejects) == 1 and "not JSON" in rec.rejects[0][0]
    assert rec.rejects[0][1] == "}{ definitely not json"

    # every frame was recorded before its events were emitted
    recorded_frames = [x for x in rec.log if x[0] == "frame"]
    assert recorded_frames[0][1][0] == frames[0]
    for i, (what, _) in enumerate(rec.log):
        if what == "emit" and rec.log[i - 1][0] == "frame":
            continue
        if what == "emit":
            assert rec.log[i - 1][0] == "event"  # feed.gap/stale: recorded, then emitted

    # the recording (frames + source events, in order) replays to the same events
    replay = PolymarketNormalizer()
    replayed: list[Any] = []
    for what, payload in rec.log:
        if what == "frame":
            frame, recv_ts = payload
            try:
                replayed.extend(replay.normalize(frame, recv_ts))
            except Exception:
                pass
        elif what == "event":
            replayed.append(payload)
    assert replayed == rec.events


def test_token_ids_are_sharded_one_subscription_per_connection():
    tokens = [str(i) for i in range(5)] + ["0"]
    assert shard(tokens, 2) == [["0", "1"], ["2", "3"], ["4"]]
    subscriptions: list[dict] = []

    async def handler(ws) -> None:
        subscriptions.append(orjson.loads(await ws.recv()))
        await ws.wait_closed()

    async def scenario() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            source = MarketChannelSource(
                fast_config(ws_url=f"ws://127.0.0.1:{port}", shard_size=2,
                            custom_feature_enabled=False), tokens)
            task = asyncio.create_task(source.run(Recorder().ctx()))
            for _ in range(200):
                if len(subscriptions) == 3:
                    break
                await asyncio.sleep(0.01)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    asyncio.run(scenario())
    assert sorted(s["assets_ids"] for s in subscriptions) == [["0", "1"], ["2", "3"], ["4"]]
    assert {s["custom_feature_enabled"] for s in subscriptions} == {False}


def test_unreachable_server_retries_without_inventing_a_gap():
    async def scenario() -> tuple[Recorder, int]:
        # a port that was just free: nothing listens there
        async with serve(lambda ws: None, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
        rec = Recorder()
        source = MarketChannelSource(fast_config(ws_url=f"ws://127.0.0.1:{port}"), [A])
        task = asyncio.create_task(source.run(rec.ctx()))
        await asyncio.sleep(0.3)
        attempts = source.feeds[0].backoff.attempts
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return rec, attempts

    rec, attempts = asyncio.run(scenario())
    assert attempts >= 2  # it kept trying
    assert rec.events == []  # never connected: no stream, so no gap to report


def test_activity_feed_gap_does_not_touch_any_book():
    from horizon_flow_venue_polymarket.market_source import ActivitySource

    trade = {"topic": "activity", "type": "trades", "timestamp": 1784965486123,
             "connection_id": "c", "payload": {
                 "asset": A, "side": "BUY", "price": 0.4, "size": 10, "timestamp": 1784965486,
                 "proxyWallet": "0x00000000000000000000000000000000000000aa",
                 "transactionHash": "0x" + "ab" * 32}}
    subs: list[dict] = []
    pings: list[str] = []

    async def handler(ws) -> None:
        subs.append(orjson.loads(await ws.recv()))
        if len(subs) == 1:
            await ws.send(orjson.dumps(trade).decode())
            pings.append(await ws.recv())  # the client's heartbeat
            ws.transport.abort()
            return
        await ws.wait_closed()

    async def scenario() -> Recorder:
        rec = Recorder()
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            source = ActivitySource(fast_config(rtds_url=f"ws://127.0.0.1:{port}"))
            task = asyncio.create_task(source.run(rec.ctx()))
            await rec.until(lambda: len(subs) == 2 and any(
                e.kind == "feed.gap" for e in rec.events))
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        return rec

    rec = asyncio.run(scenario())
    assert subs[0] == {"action": "subscribe",
                       "subscriptions": [{"topic": "activity", "type": "trades"}]}
    assert pings == ["ping"]
    fill, gap = rec.events[:2]  # (a feed.stale may follow on the idle second connection)
    assert (fill.kind, fill.actor_id, fill.market_id) == (
        "order.filled", "0x00000000000000000000000000000000000000aa", A)
    assert (gap.kind, gap.market_id, gap.extra["feed"]) == ("feed.gap", "feed:activity",
                                                            "activity")
