"""The live source against a real WebSocket server on 127.0.0.1 that checks signatures.

The server plays Kalshi: it verifies the RSA-PSS handshake signature with the
public key of a pair generated into ``tmp_path`` (HTTP 401 otherwise), pings,
sends a snapshot and deltas with one sequence number missing, answers the
source's ``get_snapshot`` with a fresh snapshot, sends garbage, drops the
connection, sees the source come back with a new signature, kills a
subscription with error 25 and then goes quiet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from horizon_flow_venue_kalshi import KalshiAuthError, KalshiConfig, KalshiLiveSource
from horizon_flow_venue_kalshi.auth import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    verify_signature,
)
from websockets.asyncio.server import ServerConnection, serve

from horizon_flow_core.components import SourceContext
from horizon_flow_core.engine.book import L2Book
from horizon_flow_core.events import MarketEvent

M = "KXBTCD-26FEB1217-T67749.99"
KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"


def _keypair(path: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return key


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("keys")
    good = _keypair(d / "good.pem")
    _keypair(d / "other.pem")
    return {"public": good.public_key(), "good": d / "good.pem", "other": d / "other.pem"}


def env_for(pem: Path) -> dict[str, str]:
    return {"KALSHI_API_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": str(pem)}


def snapshot(sid: int, seq: int, yes: list[list[str]], no: list[list[str]],
             cmd_id: int | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": {
        "market_ticker": M, "market_id": "9b0f", "yes_dollars_fp": yes, "no_dollars_fp": no}}
    if cmd_id is not None:
        frame["id"] = cmd_id
    return frame


def delta(sid: int, seq: int, side: str, price: str, d: str) -> dict[str, Any]:
    return {"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": {
        "market_ticker": M, "market_id": "9b0f", "price_dollars": price, "delta_fp": d,
        "side": side, "ts_ms": 1770897981000 + seq}}


# The venue's true book after seq 5 (seq 4, a new best bid at 0.43, is never delivered).
TRUE_YES = [["0.4000", "11.00"], ["0.4200", "8.00"], ["0.4300", "4.00"]]
TRUE_NO = [["0.5500", "5.00"]]


class FakeKalshi:
    """A Kalshi-like server; ``scripts[n]`` plays the n-th accepted connection."""

    def __init__(self, public_key: rsa.RSAPublicKey) -> None:
        self.public_key = public_key
        self.handshakes: list[dict[str, Any]] = []
        self.commands: list[list[dict[str, Any]]] = []
        self.failures: list[str] = []
        self.pongs = 0
        self.drop_now = asyncio.Event()
        self.scripts: list[Callable[[ServerConnection, Callable[[], Awaitable[dict[str, Any]]]],
                                    Awaitable[None]]] = []

    def process_request(self, connection: ServerConnection, request: Any) -> Any:
        h = request.headers
        ts, sig = h.get(HEADER_TIMESTAMP), h.get(HEADER_SIGNATURE)
        ok = (h.get(HEADER_KEY) == KEY_ID and ts is not None and sig is not None
              and verify_signature(self.public_key, ts, "GET", urlsplit(request.path).path, sig))
        self.handshakes.append({"ts": ts, "sig": sig, "ok": ok, "path": request.path})
        if not ok:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid signature\n")
        return None

    async def handler(self, ws: ServerConnection) -> None:
        n = len(self.commands)
        received: list[dict[str, Any]] = []
        self.commands.append(received)

        async def expect() -> dict[str, Any]:
            cmd = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            received.append(cmd)
            return cmd

        try:
            await self.scripts[n](ws, expect)
        except Exception as exc:  # surfaced by the test through self.failures
            self.failures.append(f"connection {n}: {type(exc).__name__}: {exc}")
            raise


async def send(ws: ServerConnection, frame: Any) -> None:
    await ws.send(frame if isinstance(frame, str | bytes) else orjson.dumps(frame).decode())


class Collector:
    """A SourceContext that remembers everything and lets the test wait for a condition."""

    def __init__(self) -> None:
        self.events: list[MarketEvent] = []
        self.frames: list[tuple[Any, int]] = []
        self.recorded_events: list[MarketEvent] = []
        self.rejects: list[tuple[str, Any]] = []
        self.metrics: list[str] = []
        self._changed = asyncio.Event()
        self.ctx = SourceContext(emit=self._emit, record_frame=self._frame,
                                 record_event=self.recorded_events.append,
                                 reject=lambda reason, frame: self.rejects.append((reason, frame)),
                                 metric=lambda name, value=1.0, **labels: self.metrics.append(name))

    def _emit(self, events: list[MarketEvent]) -> None:
        self.events.extend(events)
        self._changed.set()

    def _frame(self, frame: Any, recv_ts: int) -> None:
        self.frames.append((frame, recv_ts))
        self._changed.set()

    async def until(self, pred: Callable[[], bool], timeout: float = 5.0) -> None:
        async def wait() -> None:
            while not pred():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    def kinds(self, kind: str) -> list[MarketEvent]:
        return [ev for ev in self.events if ev.kind == kind]


def live_config(port: int, **over: Any) -> KalshiConfig:
    base: dict[str, Any] = dict(
        ws_url=f"ws://127.0.0.1:{port}/trade-api/ws/v2", tickers=(M,),
        channels=("orderbook_delta", "trade"), stale_after_s=1.0, backoff_initial_s=0.05,
        backoff_max_s=0.2, backoff_jitter=0.1, open_timeout_s=3.0, ping_interval_s=5.0)
    base.update(over)
    return KalshiConfig(**base)


# ---------------------------------------------------------------------------- scripts


async def first_connection(ws: ServerConnection, expect: Any, server: FakeKalshi) -> None:
    sub_book, sub_trade = await expect(), await expect()
    assert sub_book == {"id": 1, "cmd": "subscribe", "params": {
        "channels": ["orderbook_delta"], "market_tickers": [M]}}, sub_book
    assert sub_trade == {"id": 2, "cmd": "subscribe", "params": {
        "channels": ["trade"], "market_tickers": [M]}}, sub_trade
    await send(ws, {"id": 1, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 1}})
    await send(ws, {"id": 2, "type": "subscribed", "msg": {"channel": "trade", "sid": 2}})
    # Kalshi pings every 10 s with body "heartbeat": the client must answer
    pong = await ws.ping(b"heartbeat")
    await asyncio.wait_for(pong, 3)
    server.pongs += 1
    await send(ws, snapshot(1, 1, [["0.4000", "10.00"], ["0.4200", "5.00"]],
                            [["0.5500", "7.00"]]))
    await send(ws, delta(1, 2, "yes", "0.4200", "3.00"))
    await send(ws, delta(1, 3, "no", "0.5500", "-2.00"))
    # seq 4 (yes 0.4300 +4.00) is lost
    await send(ws, delta(1, 5, "yes", "0.4000", "1.00"))
    request = await expect()
    assert request == {"id": 3, "cmd": "update_subscription", "params": {
        "sids": [1], "market_tickers": [M], "action": "get_snapshot"}}, request
    await send(ws, snapshot(1, 6, TRUE_YES, TRUE_NO, cmd_id=3))
    await send(ws, delta(1, 7, "no", "0.5600", "2.00"))  # a YES ask at 0.44
    # garbage: not JSON, not UTF-8, and a trade with a price of 7 dollars
    await send(ws, "this is not json")
    await send(ws, b"\xff\xfe\x00garbage")
    await send(ws, {"type": "trade", "msg": {"market_ticker": M, "yes_price_dollars": "7.0",
                                             "count_fp": "1.00", "taker_side": "yes"}})
    await send(ws, {"type": "trade", "sid": 2, "seq": 1, "msg": {
        "trade_id": "t-1", "market_ticker": M, "yes_price_dollars": "0.4300",
        "no_price_dollars": "0.5700", "count_fp": "4.00", "taker_side": "yes",
        "ts": 1770897990, "ts_ms": 1770897990000}})
    await asyncio.wait_for(server.drop_now.wait(), 5)
    ws.transport.abort()  # the connection just dies, no close frame


async def second_connection(ws: ServerConnection, expect: Any, server: FakeKalshi) -> None:
    sub_book, sub_trade = await expect(), await expect()
    # a new connection: commands count from 1 again
    assert (sub_book["id"], sub_book["params"]["channels"]) == (1, ["orderbook_delta"])
    assert (sub_trade["id"], sub_trade["params"]["channels"]) == (2, ["trade"])
    await send(ws, {"id": 1, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 3}})
    await send(ws, {"id": 2, "type": "subscribed", "msg": {"channel": "trade", "sid": 4}})
    await send(ws, snapshot(3, 1, TRUE_YES, TRUE_NO))
    # the subscription's buffer overflowed: terminal, the client must subscribe again
    await send(ws, {"type": "error", "sid": 3, "msg": {"code": 25,
                                                       "msg": "Subscription buffer overflow"}})
    again = await expect()
    assert again == {"id": 3, "cmd": "subscribe", "params": {
        "channels": ["orderbook_delta"], "market_tickers": [M]}}, again
    await send(ws, {"id": 3, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 5}})
    await send(ws, snapshot(5, 1, TRUE_YES, [["0.5500", "5.00"], ["0.5600", "2.00"]]))
    await ws.wait_closed()  # then silence: the source must report the feed stale


# ---------------------------------------------------------------------------- tests


def test_live_session_gap_repair_garbage_reconnect_and_stale(keys: dict[str, Any]) -> None:
    async def scenario() -> tuple[FakeKalshi, Collector, KalshiLiveSource]:
        server = FakeKalshi(keys["public"])
        server.scripts = [lambda ws, ex: first_connection(ws, ex, server),
                          lambda ws, ex: second_connection(ws, ex, server)]
        async with serve(server.handler, "127.0.0.1", 0,
                         process_request=server.process_request) as ws_server:
            port = ws_server.sockets[0].getsockname()[1]
            source = KalshiLiveSource(live_config(port), environ=env_for(keys["good"]))
            col = Collector()
            task = asyncio.create_task(source.run(col.ctx))
            try:
                await col.until(lambda: bool(col.kinds("trade.tape")))
                server.drop_now.set()
                await col.until(lambda: bool(col.kinds("feed.stale")) and len(
                    [e for e in col.kinds("book.snapshot")]) >= 4)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            return server, col, source

    server, col, source = asyncio.run(scenario())
    assert server.failures == []
    assert server.pongs == 1

    # two signed handshakes, both verified, the second with a newer timestamp
    assert [h["ok"] for h in server.handshakes] == [True, True]
    assert int(server.handshakes[1]["ts"]) > int(server.handshakes[0]["ts"])
    assert server.handshakes[1]["sig"] != server.handshakes[0]["sig"]
    assert source.connections == 2

    # the gap: seq 5 arrives after 3, reported once, the delta dropped
    gaps = col.kinds("feed.gap")
    assert gaps[0].market_id == M
    assert gaps[0].extra == {"sid": 1, "expected": 4, "got": 5, "channel": "orderbook_delta",
                             "reason": "seq_gap"}
    # the rebuilt book, replayed as the engine does from the emitted events
    first_session = col.events[:next(i for i, ev in enumerate(col.events)
                                     if ev.kind == "trade.tape")]
    book = L2Book()
    for ev in first_session:
        if ev.kind == "book.snapshot":
            book.apply_snapshot(ev.bids, ev.asks, ev.ts)
        elif ev.kind == "book.delta":
            book.apply_delta(ev.side, ev.price, ev.size, ev.ts)
    expected = ([(0.43, 4.0), (0.42, 8.0), (0.4, 11.0)], [(0.44, 2.0), (0.45, 5.0)])
    assert book.levels() == expected
    # the deltas applied: seq 2, 3 and 7; seq 5 was held back
    assert [(ev.seq, ev.side, ev.price, ev.size) for ev in first_session
            if ev.kind == "book.delta"] == [(2, "buy", 0.42, 8.0), (3, "sell", 0.45, 5.0),
                                            (7, "sell", 0.44, 2.0)]
    assert source.normalizer.stats["deltas_dropped_unsynced"] == 1

    # garbage: three rejects, each recorded first, and the stream went on
    assert source.rejects == 3 and len(col.rejects) == 3
    reasons = [r for r, _ in col.rejects]
    assert "not JSON" in reasons[0] and "not JSON" in reasons[1]
    assert "outside [0, 1]" in reasons[2] and "msg.yes_price_dollars" in reasons[2]
    recorded = [f for f, _ in col.frames]
    assert "this is not json" in recorded
    (trade,) = col.kinds("trade.tape")
    assert (trade.price, trade.size, trade.side) == (0.43, 4.0, "buy")

    # every received frame was recorded, and so were our commands
    commands = [f for f in recorded if isinstance(f, dict) and f.get("_kind") == "client_command"]
    assert [(c["id"], c["cmd"]) for c in commands] == [
        (1, "subscribe"), (2, "subscribe"), (3, "update_subscription"),
        (1, "subscribe"), (2, "subscribe"), (3, "subscribe")]
    assert [c["id"] for c in server.commands[1]] == [1, 2, 3]

    # error 25 marked the book out of sync and the resubscription re-snapshotted it
    assert gaps[-1].extra["reason"] == "subscription_error" and gaps[-1].extra["code"] == 25
    assert source.normalizer.book_levels(M) == expected

    # silence after that: one feed.stale, recorded because no frame carries it
    (stale,) = col.kinds("feed.stale")
    assert stale.market_id == M and stale.extra == {"quiet_s": 1.0}
    assert col.recorded_events == [stale]
    assert "kalshi_reconnects" in col.metrics


def test_recording_replays_to_the_same_events(keys: dict[str, Any]) -> None:
    """What the live source recorded scans back, through a fresh normalizer, to its events."""
    from horizon_flow_venue_kalshi import KalshiNormalizer

    async def scenario() -> Collector:
        server = FakeKalshi(keys["public"])

        async def one(ws: ServerConnection, expect: Any) -> None:
            await expect()
            await send(ws, {"id": 1, "type": "subscribed",
                            "msg": {"channel": "orderbook_delta", "sid": 1}})
            await send(ws, snapshot(1, 1, [["0.40", "1"]], [["0.55", "2"]]))
            await send(ws, delta(1, 2, "yes", "0.41", "3"))
            await send(ws, delta(1, 4, "yes", "0.41", "3"))
            await expect()  # the snapshot request
            await send(ws, snapshot(1, 5, [["0.41", "6"]], [["0.55", "2"]], cmd_id=2))
            await ws.wait_closed()

        server.scripts = [one]
        async with serve(server.handler, "127.0.0.1", 0,
                         process_request=server.process_request) as ws_server:
            port = ws_server.sockets[0].getsockname()[1]
            source = KalshiLiveSource(live_config(port, channels=("orderbook_delta",),
                                                  stale_after_s=5.0),
                                      environ=env_for(keys["good"]))
            col = Collector()
            task = asyncio.create_task(source.run(col.ctx))
            try:
                await col.until(lambda: len(col.kinds("book.snapshot")) == 2)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        assert server.failures == []
        return col

    col = asyncio.run(scenario())
    replay = KalshiNormalizer(KalshiConfig(tickers=(M,)))
    again = [ev for frame, recv_ts in col.frames for ev in replay.normalize(frame, recv_ts)]
    assert again == col.events
    assert [ev.kind for ev in again].count("feed.gap") == 1


def test_refused_key_is_a_clear_error_not_an_endless_retry(keys: dict[str, Any]) -> None:
    async def scenario() -> tuple[FakeKalshi, BaseException | None]:
        server = FakeKalshi(keys["public"])
        async with serve(server.handler, "127.0.0.1", 0,
                         process_request=server.process_request) as ws_server:
            port = ws_server.sockets[0].getsockname()[1]
            # signed with a key the server does not know
            source = KalshiLiveSource(live_config(port, max_auth_failures=3),
                                      environ=env_for(keys["other"]))
            try:
                await asyncio.wait_for(source.run(Collector().ctx), 10)
            except BaseException as exc:
                return server, exc
        return server, None

    server, exc = asyncio.run(scenario())
    assert isinstance(exc, KalshiAuthError)
    message = str(exc)
    assert "HTTP 401" in message and "3 time(s)" in message
    assert "KALSHI_API_KEY_ID" in message and "KALSHI_PRIVATE_KEY_PATH" in message
    assert "\n" not in message
    # exactly the bounded number of attempts, each freshly signed, none accepted
    assert [h["ok"] for h in server.handshakes] == [False, False, False]
    assert len({h["ts"] for h in server.handshakes}) == 3
    assert server.commands == []


def test_missing_credentials_fail_before_connecting(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = KalshiConfig(ws_url="ws://127.0.0.1:9/trade-api/ws/v2", tickers=(M,))
    monkeypatch.delenv("KALSHI_API_KEY_ID", raising=False)
    monkeypatch.delenv("KALSHI_PRIVATE_KEY_PATH", raising=False)
    with pytest.raises(KalshiAuthError, match="KALSHI_API_KEY_ID"):
        asyncio.run(KalshiLiveSource(cfg).run(Collector().ctx))
    monkeypatch.setenv("KALSHI_API_KEY_ID", KEY_ID)
    monkeypatch.setenv("KALSHI_PRIVATE_KEY_PATH", str(tmp_path / "missing.pem"))
    with pytest.raises(KalshiAuthError, match=r"cannot read private key file .*missing\.pem"):
        asyncio.run(KalshiLiveSource(cfg).run(Collector().ctx))
    (tmp_path / "junk.pem").write_text("not a key")
    monkeypatch.setenv("KALSHI_PRIVATE_KEY_PATH", str(tmp_path / "junk.pem"))
    with pytest.raises(KalshiAuthError, match="PEM private key"):
        asyncio.run(KalshiLiveSource(cfg).run(Collector().ctx))


def test_order_book_channel_needs_tickers() -> None:
    from horizon_flow_core.errors import ConfigError

    with pytest.raises(ConfigError, match="orderbook_delta"):
        asyncio.run(KalshiLiveSource(KalshiConfig()).run(Collector().ctx))


def test_rotated_key_is_picked_up_after_a_refusal(keys: dict[str, Any], tmp_path: Path) -> None:
    pem = tmp_path / "rotating.pem"
    pem.write_bytes(keys["other"].read_bytes())

    async def scenario() -> tuple[FakeKalshi, KalshiLiveSource]:
        server = FakeKalshi(keys["public"])
        connected = asyncio.Event()

        async def one(ws: ServerConnection, expect: Any) -> None:
            await expect()
            connected.set()
            await ws.wait_closed()

        server.scripts = [one]
        refuse = server.process_request

        def rotate_after_refusal(connection: ServerConnection, request: Any) -> Any:
            answer = refuse(connection, request)
            if answer is not None:  # refused: the operator installs the right key
                pem.write_bytes(keys["good"].read_bytes())
            return answer

        async with serve(server.handler, "127.0.0.1", 0,
                         process_request=rotate_after_refusal) as ws_server:
            port = ws_server.sockets[0].getsockname()[1]
            source = KalshiLiveSource(live_config(port, channels=("trade",), stale_after_s=5.0),
                                      environ=env_for(pem))
            task = asyncio.create_task(source.run(Collector().ctx))
            try:
                await asyncio.wait_for(connected.wait(), 5)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return server, source

    server, source = asyncio.run(scenario())
    assert [h["ok"] for h in server.handshakes] == [False, True]
    assert source.connections == 1 and source.auth_failures == 0
