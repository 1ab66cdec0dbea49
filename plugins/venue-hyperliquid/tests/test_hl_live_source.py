"""The live source against a real WebSocket server on 127.0.0.1 speaking Hyperliquid's protocol.

The server (``fake_venue.FakeVenue``) acks ``{"method":"subscribe"}`` with
``subscriptionResponse``, answers ``{"method":"ping"}`` with ``{"channel":"pong"}``,
closes connections whose client stays silent longer than its idle limit (the
venue's 60 s rule, shortened), and replays a script of frames per connection.
Trade frames follow the documented shape (there is no recorded WS ``trades``
frame with ``users``); the ``userFills`` frame is the shape of the recorded
info ``userFills`` items inside the WS envelope. Intervals are short so the
whole file runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
from horizon_flow_venue_hyperliquid import (
    HyperliquidConfig,
    HyperliquidNormalizer,
    HyperliquidSource,
)
from horizon_flow_venue_hyperliquid.fake_venue import FakeVenue, Step, serving
from horizon_flow_venue_hyperliquid.info import perp_coins

from horizon_flow_core.components import SourceContext
from horizon_flow_core.events import MarketEvent, event_to_dict
from horizon_flow_core.feeds.raw import iter_raw_recording
from horizon_flow_core.feeds.rejects import RejectLog
from horizon_flow_core.feeds.writer import RawRecorder

DATA = Path(__file__).resolve().parent / "data"
WALLET = "0xDdDd000000000000000000000000000000000004"
BUYER = "0x1111000000000000000000000000000000000001"
SELLER = "0x2222000000000000000000000000000000000002"
T0 = 1_700_000_000_000

def trades_frame(*tids: int) -> dict[str, Any]:
    return {"channel": "trades", "data": [
        {"coin": "BTC", "side": "B" if tid % 2 else "A", "px": f"{100 + tid}.5", "sz": "0.5",
         "hash": f"0x{tid:064x}", "time": T0 + tid, "tid": tid, "users": [BUYER, SELLER]}
        for tid in tids]}


def book_frame(t: int, bid: str = "100.0") -> dict[str, Any]:
    return {"channel": "l2Book", "data": {"coin": "BTC", "time": t, "levels": [
        [{"px": bid, "sz": "1.5", "n": 2}], [{"px": "101.0", "sz": "2.0", "n": 1}]]}}


def bbo_frame(t: int) -> dict[str, Any]:
    return {"channel": "bbo", "data": {"coin": "BTC", "time": t, "bbo": [
        {"px": "100.0", "sz": "1.5", "n": 2}, {"px": "101.0", "sz": "2.0", "n": 1}]}}


def order_frame(oid: int, status: str, t: int) -> dict[str, Any]:
    return {"channel": "orderUpdates", "data": [{"order": {
        "coin": "BTC", "side": "B", "limitPx": "99.0", "sz": "3.0", "oid": oid, "timestamp": T0,
        "origSz": "3.0"}, "status": status, "statusTimestamp": t}]}


USER_FILLS_SNAPSHOT = {"channel": "userFills", "data": {"isSnapshot": True, "user": WALLET,
                                                        "fills": [{
    "coin": "BTC", "px": "99.0", "sz": "0.1", "side": "B", "time": T0 - 5000,
    "startPosition": "0.0", "dir": "Open Long", "closedPnl": "0.0", "hash": "0xfeed",
    "oid": 500, "crossed": False, "fee": "0.0", "tid": 9001, "feeToken": "USDC"}]}}


class Collector:
    """A SourceContext that keeps everything, and records raw frames to a real feed log."""

    def __init__(self, recording: Path | None = None) -> None:
        self.events: list[MarketEvent] = []
        self.rejects: list[tuple[str, Any]] = []
        self.frames: list[tuple[Any, int]] = []
        self.metrics: Counter[str] = Counter()
        self.recorder = RawRecorder(recording, "hyperliquid") if recording else None

    def record_frame(self, frame: Any, recv_ts: int) -> None:
        self.frames.append((frame, recv_ts))
        if self.recorder:
            self.recorder.frame(frame, recv_ts)

    def record_event(self, ev: MarketEvent) -> None:
        if self.recorder:
            self.recorder.event(ev)

    def metric(self, name: str, value: float = 1.0, **labels: Any) -> None:
        assert labels == {"venue": "hyperliquid"}
        self.metrics[name] += value

    def context(self) -> SourceContext:
        return SourceContext(emit=self.events.extend, record_frame=self.record_frame,
                             record_event=self.record_event,
                             reject=lambda reason, frame: self.rejects.append((reason, frame)),
                             metric=self.metric)

    def of(self, kind: str) -> list[MarketEvent]:
        return [e for e in self.events if e.kind == kind]


async def run_until(source: HyperliquidSource, ctx: SourceContext, done: Callable[[], bool],
                    timeout_s: float = 8.0) -> None:
    task = asyncio.create_task(source.run(ctx))
    try:
        async with asyncio.timeout(timeout_s):
            while not done():
                if task.done():
                    task.result()  # surface a crash of the source
                    raise AssertionError("the source stopped by itself")
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def config(port: int, **overrides: Any) -> HyperliquidConfig:
    settings: dict[str, Any] = dict(
        ws_url=f"ws://127.0.0.1:{port}/ws", coins=("BTC",), ping_interval_s=0.15,
        pong_timeout_s=0.5, stale_after_s=0.4, stale_channels=("l2Book",),
        reconnect_min_s=0.05, reconnect_max_s=0.2, jitter_seed=1, connect_timeout_s=2.0)
    settings.update(overrides)
    return HyperliquidConfig(**settings)


# ---------------------------------------------------------------------------- the main scenario


def test_reconnect_gap_no_duplicates_stale_malformed_and_recording(tmp_path: Path) -> None:
    market_first: list[Step] = [
        ("send", book_frame(T0 + 1000)), ("send", trades_frame(1, 2)),
        ("send", bbo_frame(T0 + 1000)),
        ("send", "not json {"), ("send", {"channel": "mystery", "data": 1}),
        ("send", {"channel": "trades", "data": [*trades_frame(3)["data"], {"coin": "BTC"}]}),
        ("sleep", 0.05), ("drop", None)]
    market_second: list[Step] = [  # after resubscribing the venue resends what it had sent
        ("send", book_frame(T0 + 1000)), ("send", trades_frame(2, 3)), ("send", trades_frame(4)),
        ("send", book_frame(T0 + 2000, bid="100.5"))]  # ...then goes quiet
    wallet_first: list[Step] = [
        ("send", USER_FILLS_SNAPSHOT), ("send", order_frame(501, "open", T0 + 100)),
        ("sleep", 0.7),  # longer than the idle limit: only the pings keep the lane open
        ("send", order_frame(501, "canceled", T0 + 200))]
    venue = FakeVenue({"market": [market_first, market_second], "wallet": [wallet_first]})
    recording = tmp_path / "hl.raw.jsonl"
    out = Collector(recording)

    async def scenario() -> HyperliquidSource:
        server = await serving(venue)
        source = HyperliquidSource(config(venue.port, wallets=(WALLET,)))
        try:
            await run_until(source, out.context(), lambda: bool(out.of("feed.stale"))
                            and len(out.of("order.canceled")) == 1)
        finally:
            server.close()
            await server.wait_closed()
        return source

    asyncio.run(scenario())
    assert out.recorder is not None
    out.recorder.close()

    # reconnected once and resubscribed the same streams; the wallet lane never dropped
    assert len(venue.subscriptions["market"]) == 2 and len(venue.subscriptions["wallet"]) == 1
    want = [{"type": "trades", "coin": "BTC"}, {"type": "l2Book", "coin": "BTC"},
            {"type": "bbo", "coin": "BTC"}]
    assert venue.subscriptions["market"] == [want, want]
    assert venue.subscriptions["wallet"] == [[{"type": "orderUpdates", "user": WALLET.lower()},
                                              {"type": "userFills", "user": WALLET.lower()}]]
    assert venue.pings >= 3 and venue.idle_closes == 0
    assert out.metrics["reconnects"] == 1 and out.metrics["connects"] == 3

    # every trade once: four prints, two fills each, whatever was resent
    tape = out.of("trade.tape")
    assert [e.extra["tid"] for e in tape] == [1, 2, 3, 4]
    assert [(e.side, e.price) for e in tape] == [("buy", 101.5), ("sell", 102.5), ("buy", 103.5),
                                                 ("sell", 104.5)]
    trade_fills = [e for e in out.of("order.filled") if e.extra.get("tid") in (1, 2, 3, 4)]
    assert Counter(e.extra["tid"] for e in trade_fills) == {1: 2, 2: 2, 3: 2, 4: 2}
    keys = [(e.kind, e.ts, e.actor_id, e.side, e.order_id, e.size) for e in out.events
            if e.kind not in ("feed.gap", "feed.stale")]
    assert len(keys) == len(set(keys)), "an event was emitted twice"
    books = out.of("book.snapshot")
    assert [(e.ts, e.bids[0]) for e in books] == [((T0 + 1000) * 10**6, (100.0, 1.5)),
                                                  ((T0 + 2000) * 10**6, (100.5, 1.5))]
    assert len(out.of("quote.update")) == 1

    # the gap: one per market of the lost connection, from its last frame to the resubscription
    [gap] = out.of("feed.gap")
    assert gap.market_id == "BTC" and gap.extra["connection"] == "market-0"
    start, end = gap.extra["gap_start_ns"], gap.extra["gap_end_ns"]
    assert gap.ts == end and start < end
    last_trades_before = max(t for f, t in out.frames if isinstance(f, dict)
                             and f.get("channel") == "trades" and t < end)
    assert start >= last_trades_before
    first_after = min(t for f, t in out.frames if isinstance(f, dict)
                      and f.get("channel") == "l2Book" and t > start)
    assert end <= first_after
    assert gap.extra["reason"]

    # the quiet l2Book stream was reported once, after the resubscription
    [stale] = out.of("feed.stale")
    assert stale.market_id == "BTC" and stale.extra["channel"] == "l2Book"
    assert stale.extra["quiet_ns"] > 0.4e9 and stale.ts > end

    # malformed frames were kept as rejects and the source carried on
    reasons = [r for r, _ in out.rejects]
    assert len(reasons) == 3
    assert reasons[0].startswith("not JSON") and out.rejects[0][1] == "not json {"
    assert "unknown channel 'mystery'" in reasons[1]
    assert "trades[1]" in reasons[2] and out.rejects[2][1] == {"coin": "BTC"}
    assert out.metrics["rejects"] == 3

    # the wallet lane's frames carry the wallet, so orders are attributed
    orders = [e for e in out.events if e.kind in ("order.placed", "order.canceled")]
    assert [(e.kind, e.order_id, e.actor_id) for e in orders] == [
        ("order.placed", "501", WALLET.lower()), ("order.canceled", "501", WALLET.lower())]
    recorded_updates = [f for f, _ in out.frames if isinstance(f, dict)
                        and f.get("channel") == "orderUpdates"]
    assert all(f["user"] == WALLET.lower() for f in recorded_updates)
    [snap_fill] = [e for e in out.of("order.filled") if e.order_id == "500"]
    assert snap_fill.actor_id == WALLET.lower() and snap_fill.extra["snapshot"] is True

    # scanning the recording with a fresh normalizer gives exactly the live events
    rejects = RejectLog()
    replayed = list(iter_raw_recording(recording, HyperliquidNormalizer(config(venue.port)),
                                       rejects))
    assert [event_to_dict(e) for e in replayed] == [event_to_dict(e) for e in out.events]
    assert orjson.dumps([event_to_dict(e) for e in replayed]) == orjson.dumps(
        [event_to_dict(e) for e in out.events])


# ---------------------------------------------------------------------------- dead connections


def test_a_connection_that_stops_answering_is_replaced_and_the_gap_reported() -> None:
    venue = FakeVenue({"market": [[("send", book_frame(T0 + 1))],
                                  [("send", book_frame(T0 + 2))]]}, idle_limit_s=5.0)
    venue.mute_pongs.add(("market", 0))  # the first connection goes dead: no pong, no data
    out = Collector()

    async def scenario() -> None:
        server = await serving(venue)
        source = HyperliquidSource(config(venue.port, ping_interval_s=0.1, pong_timeout_s=0.2,
                                          stale_after_s=30.0))
        try:
            await run_until(source, out.context(), lambda: bool(out.of("feed.gap"))
                            and len(out.of("book.snapshot")) == 2)
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
    [gap] = out.of("feed.gap")
    assert gap.extra["reason"] == "no frame within 0.2 s of a ping"
    first_book_rx = [t for f, t in out.frames if isinstance(f, dict)
                     and f.get("channel") == "l2Book"][0]
    assert gap.extra["gap_start_ns"] >= first_book_rx
    assert len(venue.subscriptions["market"]) == 2
    assert [e.ts for e in out.of("book.snapshot")] == [(T0 + 1) * 10**6, (T0 + 2) * 10**6]
    assert out.of("feed.stale") == []


def test_unreachable_venue_backs_off_without_inventing_gaps() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = Collector()

    async def scenario() -> None:
        source = HyperliquidSource(config(port, reconnect_min_s=0.02, reconnect_max_s=0.05))
        await run_until(source, out.context(), lambda: out.metrics["reconnects"] >= 3)

    asyncio.run(scenario())
    assert out.events == [] and out.metrics["connects"] == 0


# ---------------------------------------------------------------------------- coins from meta


class _InfoHandler(BaseHTTPRequestHandler):
    bodies: list[Any] = []
    fail_first = True

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        if type(self).fail_first:
            type(self).fail_first = False
            self.send_response(503)
            self.end_headers()
            return
        payload = (DATA / "info_meta_2023-07-17.json").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_all_coins_from_the_info_meta_spread_over_connections() -> None:
    http = ThreadingHTTPServer(("127.0.0.1", 0), _InfoHandler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    venue = FakeVenue({}, idle_limit_s=5.0)
    out = Collector()
    meta = json.loads((DATA / "info_meta_2023-07-17.json").read_text())
    coins = perp_coins(meta)

    def subscribed() -> list[dict[str, Any]]:
        return [s for conn in venue.subscriptions["market"] for s in conn]

    async def scenario() -> None:
        server = await serving(venue)
        info_url = f"http://127.0.0.1:{http.server_address[1]}/info"
        source = HyperliquidSource(config(venue.port, coins=(), info_url=info_url,
                                          max_subscriptions_per_connection=30))
        try:
            await run_until(source, out.context(), lambda: len(subscribed()) == 3 * len(coins))
        finally:
            server.close()
            await server.wait_closed()

    try:
        asyncio.run(scenario())
    finally:
        http.shutdown()
        http.server_close()
    assert _InfoHandler.bodies[:2] == [{"type": "meta"}, {"type": "meta"}]  # retried after 503
    assert out.metrics["info_errors"] == 1
    assert len(venue.subscriptions["market"]) == 3  # 84 subscriptions, at most 30 each
    assert all(len(conn) <= 30 for conn in venue.subscriptions["market"])
    by_type = {t: sorted(s["coin"] for s in subscribed() if s["type"] == t)
               for t in ("trades", "l2Book", "bbo")}
    assert by_type == {t: sorted(coins) for t in ("trades", "l2Book", "bbo")}
