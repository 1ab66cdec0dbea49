"""The chain sources against a JSON-RPC node on 127.0.0.1, over HTTP and WebSocket, via web3.

The fake node serves recorded logs (the real V2 ``OrderFilled`` plus the legs
a match emits around it) and scripted ones, refuses wide ``eth_getLogs``
ranges, and answers with an injected HTTP 429, a JSON-RPC rate limit
(-32005) and an internal error, so the sources must shrink ranges, back off,
retry and reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from eth_abi import encode
from horizon_flow_venue_polymarket.chain import contracts as c
from horizon_flow_venue_polymarket.chain.backfill import ChainBackfill
from horizon_flow_venue_polymarket.chain.follow import ChainFollower
from horizon_flow_venue_polymarket.chain.rpc import ChainRpc, ChainRpcError, classify
from horizon_flow_venue_polymarket.config import PolymarketConfig
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer
from websockets.asyncio.server import serve

from horizon_flow_core.components import SourceContext

V2_BLOCK = 90840326
V2_TS = 0x6A64696E
S = 1_000_000_000
WALLET_A = "0x000000000000000000000000000000000000a11c"
WALLET_B = "0x000000000000000000000000000000000000b0b0"


def topic_addr(a: str) -> str:
    return "0x" + "0" * 24 + a[2:].lower()


def v2_filled(*, maker: str, taker: str, side: int, token: int, maker_amount: int,
              taker_amount: int, block: int, tx: str, log_index: int,
              exchange: str = c.CTF_EXCHANGE_V2) -> dict:
    data = encode(["uint8", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32"],
                  [side, token, maker_amount, taker_amount, 0, b"\0" * 32, b"\0" * 32])
    return {"address": exchange,
            "topics": [c.TOPIC_V2_ORDER_FILLED, "0x" + f"{log_index + 1:064x}",
                       topic_addr(maker), topic_addr(taker)],
            "data": "0x" + data.hex(), "blockNumber": hex(block), "transactionHash": tx,
            "transactionIndex": "0x0", "blockHash": "0x" + f"{block:064x}",
            "logIndex": hex(log_index), "removed": False}


def v2_matched(*, taker_maker: str, side: int, token: int, maker_amount: int,
               taker_amount: int, block: int, tx: str, log_index: int) -> dict:
    data = encode(["uint8", "uint256", "uint256", "uint256"],
                  [side, token, maker_amount, taker_amount])
    return {"address": c.CTF_EXCHANGE_V2,
            "topics": [c.TOPIC_V2_ORDERS_MATCHED, "0x" + "ee" * 32, topic_addr(taker_maker)],
            "data": "0x" + data.hex(), "blockNumber": hex(block), "transactionHash": tx,
            "transactionIndex": "0x0", "blockHash": "0x" + f"{block:064x}",
            "logIndex": hex(log_index), "removed": False}


def match_logs(maker: str, taker: str, *, block: int, tx: str, token: int = 7,
               maker_side: int = 1, shares: int = 100_000_000, collateral: int = 50_000_000
               ) -> list[dict]:
    """What one match emits: the maker leg, the taker's aggregate leg, OrdersMatched."""
    maker_amount, taker_amount = ((shares, collateral) if maker_side == 1
                                  else (collateral, shares))
    return [
        v2_filled(maker=maker, taker=taker, side=maker_side, token=token,
                  maker_amount=maker_amount, taker_amount=taker_amount, block=block, tx=tx,
                  log_index=0),
        v2_filled(maker=taker, taker=c.CTF_EXCHANGE_V2, side=1 - maker_side, token=token,
                  maker_amount=taker_amount, taker_amount=maker_amount, block=block, tx=tx,
                  log_index=1),
        v2_matched(taker_maker=taker, side=1 - maker_side, token=token,
                   maker_amount=taker_amount, taker_amount=maker_amount, block=block, tx=tx,
                   log_index=2),
    ]


class FakePolygon:
    """A scripted JSON-RPC node: recorded logs, block times, transactions, injected failures."""

    def __init__(self, logs: Iterable[dict], block_ts: dict[int, int], *, head: int,
                 max_range: int | None = None) -> None:
        # like an older node: no blockTimestamp in the logs
        self.logs = [{k: v for k, v in x.items() if k != "blockTimestamp"} for x in logs]
        self.block_ts = block_ts
        self.head = head
        self.max_range = max_range
        self.inject: dict[str, deque[Any]] = {}
        self.requests: list[tuple[str, Any]] = []
        self.user_agents: set[str] = set()
        self.lock = threading.Lock()

    def fail_next(self, method: str, *answers: Any) -> None:
        self.inject.setdefault(method, deque()).extend(answers)

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.requests if m == method)

    def answer(self, req: dict) -> tuple[int, dict | None]:
        method, params = req.get("method"), req.get("params") or []
        with self.lock:
            self.requests.append((method, params))
            queue = self.inject.get(method)
            injected = queue.popleft() if queue else None
        rid = req.get("id")
        if injected == "http429":
            return 429, None
        if isinstance(injected, tuple):
            code, message = injected
            return 200, {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}
        result = self._result(method, params)
        if isinstance(result, tuple):  # an error the node itself gives
            return 200, {"jsonrpc": "2.0", "id": rid,
                         "error": {"code": result[0], "message": result[1]}}
        return 200, {"jsonrpc": "2.0", "id": rid, "result": result}

    def logs_between(self, lo: int, hi: int, flt: dict | None = None) -> list[dict]:
        addresses = {a.lower() for a in (flt or {}).get("address", [])} or None
        topics = set(((flt or {}).get("topics") or [[]])[0] or []) or None
        return [x for x in self.logs if lo <= int(x["blockNumber"], 16) <= hi
                and (addresses is None or x["address"] in addresses)
                and (topics is None or x["topics"][0] in topics)]

    def _result(self, method: str, params: list) -> Any:
        if method == "eth_chainId":
            return "0x89"
        if method == "eth_blockNumber":
            return hex(self.head)
        if method == "eth_getLogs":
            flt = params[0]
            lo, hi = int(flt["fromBlock"], 16), int(flt["toBlock"], 16)
            if self.max_range is not None and hi - lo + 1 > self.max_range:
                return (-32602, f"Log response size exceeded. You can make eth_getLogs "
                                f"requests with up to a {self.max_range} block range.")
            return self.logs_between(lo, hi, flt)
        if method == "eth_getBlockByNumber":
            number = int(params[0], 16)
            return {"number": hex(number), "hash": "0x" + f"{number:064x}",
                    "parentHash": "0x" + f"{number - 1:064x}",
                    "timestamp": hex(self.block_ts[number]), "transactions": []}
        if method == "eth_getTransactionByHash":
            tx = params[0]
            return {"hash": tx, "nonce": "0x2a", "gasPrice": "0x6fc23ac00", "gas": "0x30d40",
                    "from": "0x00000000000000000000000000000000000000f1",
                    "to": c.CTF_EXCHANGE_V2, "value": "0x0", "input": "0x",
                    "blockNumber": None, "blockHash": None, "transactionIndex": None,
                    "type": "0x0", "chainId": "0x89", "v": "0x1", "r": "0x1", "s": "0x1"}
        if method == "eth_subscribe":
            return "0x" + "5" * 32
        return (-32601, f"the method {method} does not exist/is not available")


class HttpNode:
    """FakePolygon over HTTP (``http.server`` in a thread), bound to a free port."""

    def __init__(self, node: FakePolygon, path: str = "/") -> None:
        outer = node

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.user_agents.add(self.headers.get("User-Agent", ""))
                status, payload = outer.answer(orjson.loads(body))
                data = b"Too Many Requests" if payload is None else orjson.dumps(payload)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpNode:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def fast(**over: Any) -> PolymarketConfig:
    base = dict(rpc_backoff_initial_s=0.001, rpc_backoff_max_s=0.01, rpc_timeout_s=5.0,
                reconnect_initial_s=0.01, reconnect_max_s=0.05, open_timeout_s=2.0)
    base.update(over)
    return PolymarketConfig(**base)


def recorded_match_around_real_log(real: dict) -> list[dict]:
    """The real V2 maker leg plus the aggregate leg and OrdersMatched a match emits after it."""
    tx, block, index = real["transactionHash"], V2_BLOCK, int(real["logIndex"], 16)
    agg = v2_filled(maker="0x92c9ad93ba0e400ffc8d716edf70a588d246bde3",
                    taker=c.CTF_EXCHANGE_V2, side=0, token=7, maker_amount=3_929_200,
                    taker_amount=4_180_000, block=block, tx=tx, log_index=index + 1)
    matched = v2_matched(taker_maker="0x92c9ad93ba0e400ffc8d716edf70a588d246bde3", side=0,
                         token=7, maker_amount=3_929_200, taker_amount=4_180_000, block=block,
                         tx=tx, log_index=index + 2)
    return [real, agg, matched]


# ----------------------------------------------------------------------------- HTTP backfill


def test_http_backfill_shrinks_range_backs_off_and_enriches(pm_chain_logs, caplog):
    caplog.set_level(logging.INFO)
    node = FakePolygon(recorded_match_around_real_log(pm_chain_logs[0]),
                       {V2_BLOCK: V2_TS}, head=V2_BLOCK + 10, max_range=3)
    node.fail_next("eth_getLogs", "http429", (-32005, "rate limit exceeded, slow down"))
    node.fail_next("eth_getBlockByNumber", (-32000, "header not found"))
    cfg = fast(log_chunk_blocks=8, enrich_on_chain=True)
    recorded: list[Any] = []
    with HttpNode(node, "/v2/SUPERSECRETKEY1234") as http:
        rpc = ChainRpc(cfg, http.url)
        backfill = ChainBackfill(cfg, rpc)
        events = list(backfill.run(V2_BLOCK - 5, V2_BLOCK + 5,
                                   record_frame=lambda f, t: recorded.append(f)))
        assert rpc.head() == V2_BLOCK + 10

    maker, taker = events
    assert (maker.actor_id, maker.side, taker.actor_id, taker.side) == (
        "0xa253d75c2dfb2c6650291d5e8d54076d2fb40181", "sell",
        "0x92c9ad93ba0e400ffc8d716edf70a588d246bde3", "buy")
    assert {(e.price, e.size, e.ts) for e in events} == {(0.94, 4.18, V2_TS * S)}
    assert {(e.extra["gas_price"], e.extra["nonce"]) for e in events} == {(30_000_000_000, 42)}
    # the aggregate leg and OrdersMatched were fetched but not counted as volume
    assert backfill.normalizer.counters["chain_taker_aggregate_leg"] == 1
    assert backfill.normalizer.counters["chain_orders_matched"] == 1
    # range refused at 8 blocks, shrunk to 2; every block covered exactly once
    assert backfill.range_shrinks == 2
    spans = [(int(p[0]["fromBlock"], 16), int(p[0]["toBlock"], 16))
             for m, p in node.requests if m == "eth_getLogs"]
    ok = [(lo, hi) for lo, hi in spans if hi - lo + 1 <= 3]
    covered = sorted({b for lo, hi in ok for b in range(lo, hi + 1)})
    assert covered == list(range(V2_BLOCK - 5, V2_BLOCK + 6))
    # a 429, a -32005 and an internal error were retried, through web3's HTTPProvider
    assert rpc.retrier.rate_limited == 2 and rpc.retrier.retries == 3
    assert node.count("eth_getBlockByNumber") == 2  # one failure, then cached
    assert node.count("eth_getTransactionByHash") == 1  # only the maker leg's tx, once
    assert any("web3.py" in ua for ua in node.user_agents)
    assert "SUPERSECRETKEY1234" not in caplog.text
    # the recording (prepared logs) scans offline to the same events
    offline = PolymarketNormalizer()
    assert [e for f in recorded for e in offline.normalize(f, None)] == events
    assert all("blockTimestamp" in f for f in recorded)


def test_http_backfill_of_the_real_v1_log(pm_chain_logs):
    real = pm_chain_logs[1]
    block = int(real["blockNumber"], 16)
    node = FakePolygon([real], {block: 0x695E9F3D}, head=block)
    with HttpNode(node) as http:
        cfg = fast()
        events = list(ChainBackfill(cfg, ChainRpc(cfg, http.url)).run(block, block))
    assert [(e.actor_id, e.side, e.price, e.size) for e in events] == [
        ("0x00000003a358014c7c0e227483dbe01619871000", "buy", 0.42, 17.7),
        ("0xe55b90febea370d4611a4b0a9ff201183268b24e", "sell", 0.42, 17.7)]
    assert {e.ts for e in events} == {0x695E9F3D * S}


def test_fatal_and_exhausted_errors_are_one_line_without_the_key(caplog):
    node = FakePolygon([], {}, head=10)
    secret = "SUPERSECRETKEY5678"
    with HttpNode(node, f"/v2/{secret}") as http:
        cfg = fast(rpc_max_attempts=2)
        node.fail_next("eth_getLogs", (-32601, "method eth_getLogs not available"))
        with pytest.raises(ChainRpcError) as fatal:
            list(ChainBackfill(cfg, ChainRpc(cfg, http.url)).run(1, 2))
        assert "method eth_getLogs not available" in str(fatal.value)
        assert node.count("eth_getLogs") == 1  # fatal: not retried
        node.fail_next("eth_getLogs", "http429", "http429", "http429")
        with pytest.raises(ChainRpcError) as limited:
            list(ChainBackfill(cfg, ChainRpc(cfg, http.url)).run(1, 2))
    for err in (fatal.value, limited.value):
        assert secret not in str(err) and "\n" not in str(err)
    assert "429" in str(limited.value) and "2 attempt" in str(limited.value)
    assert secret not in caplog.text


def test_rpc_url_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("POLYGON_RPC_URL", raising=False)
    monkeypatch.delenv("POLYGON_WS_URL", raising=False)
    with pytest.raises(ChainRpcError, match=r"\$POLYGON_RPC_URL"):
        ChainBackfill.from_env(fast())
    monkeypatch.setenv("POLYGON_RPC_URL", "https://polygon.example/v2/KEY")
    assert ChainBackfill.from_env(fast()).rpc.w3.provider.endpoint_uri.endswith("/KEY")
    assert ChainFollower.from_env(fast()).ws_url == "wss://polygon.example/v2/KEY"
    monkeypatch.setenv("POLYGON_WS_URL", "wss://other.example/ws")
    assert ChainFollower.from_env(fast()).ws_url == "wss://other.example/ws"


def test_classify_the_usual_provider_answers():
    from web3.exceptions import Web3RPCError

    def rpc(code: int, message: str) -> Web3RPCError:
        return Web3RPCError(message, rpc_response={"jsonrpc": "2.0", "id": 1,
                                                   "error": {"code": code, "message": message}})

    assert classify(rpc(-32005, "query returned more than 10000 results")) == "range"
    assert classify(rpc(-32005, "daily request count exceeded, request rate limited")) == \
        "rate_limit"
    assert classify(rpc(-32005, "limit exceeded")) == "rate_limit"
    assert classify(rpc(-32602, "block range is too wide")) == "range"
    assert classify(rpc(-32602, "invalid argument 0: hex string without 0x prefix")) == "fatal"
    assert classify(rpc(-32000, "header not found")) == "retry"
    assert classify(TimeoutError()) == "retry"
    assert classify(ConnectionRefusedError()) == "retry"


# ----------------------------------------------------------------------------- WebSocket follower


class Ctx:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.frames: list[Any] = []
        self.recorded_events: list[Any] = []
        self.rejects: list[str] = []
        self.changed = asyncio.Event()

    def context(self) -> SourceContext:
        def emit(evs: list[Any]) -> None:
            self.events.extend(evs)
            self.changed.set()
        return SourceContext(emit=emit, record_frame=lambda f, t: self.frames.append(f),
                             record_event=self.recorded_events.append,
                             reject=lambda r, f: self.rejects.append(r), clock=lambda: 7)

    async def until(self, predicate, timeout: float = 10.0) -> None:
        async def wait() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), timeout)


def ws_node_handler(node: FakePolygon, script):
    """A WebSocket JSON-RPC endpoint that keeps answering requests while
    ``script(conn, ws, sub_id)`` pushes notifications (and may drop the connection)."""
    connections: list[int] = []
    tasks: list[asyncio.Task] = []

    async def handler(ws) -> None:
        conn = len(connections)
        connections.append(conn)
        try:
            async for message in ws:
                req = orjson.loads(message)
                status, payload = node.answer(req)
                await ws.send(orjson.dumps(payload).decode())
                if req.get("method") == "eth_subscribe" and "result" in payload:
                    tasks.append(asyncio.create_task(script(conn, ws, payload["result"])))
        except Exception:  # the script dropped the connection
            return

    return handler, connections


async def drop(ws) -> None:
    ws.transport.abort()


def notification(sub_id: str, log: dict) -> str:
    return orjson.dumps({"jsonrpc": "2.0", "method": "eth_subscription",
                         "params": {"subscription": sub_id, "result": log}}).decode()


def test_ws_follower_rate_limit_drop_catch_up_and_enrich():
    # three matches between A and B in blocks 1000, 1001 and 1004
    m1 = match_logs(WALLET_B, WALLET_A, block=1000, tx="0x" + "a1" * 32)
    m2 = match_logs(WALLET_A, WALLET_B, block=1001, tx="0x" + "a2" * 32)
    m3 = match_logs(WALLET_B, WALLET_A, block=1004, tx="0x" + "a3" * 32)
    node = FakePolygon(m1 + m2 + m3, {1000: 1_700_000_000, 1001: 1_700_000_002,
                                      1004: 1_700_000_008}, head=999)
    node.fail_next("eth_subscribe", (-32005, "rate limit exceeded"))
    node.fail_next("eth_getBlockByNumber", (-32000, "header not found"))

    async def script(conn: int, ws, sub_id: str) -> None:
        if conn == 0:  # the first match arrives live, then the connection drops
            for log in m1:
                await ws.send(notification(sub_id, log))
            await asyncio.sleep(0.3)
            node.head = 1003  # m2 is mined while the follower is disconnected
            await drop(ws)
        elif conn == 1:  # only the catch-up can find m2; m3 then arrives live
            await asyncio.sleep(0.3)
            node.head = 1004
            for log in m3:
                await ws.send(notification(sub_id, log))

    handler, connections = ws_node_handler(node, script)
    ctx = Ctx()

    async def scenario() -> ChainFollower:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            follower = ChainFollower(fast(enrich_on_chain=True), f"ws://127.0.0.1:{port}")
            task = asyncio.create_task(follower.run(ctx.context()))
            await ctx.until(lambda: len(ctx.events) >= 6)
            await asyncio.sleep(0.05)  # nothing more must arrive
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        return follower

    follower = asyncio.run(scenario())
    assert len(connections) == 2 and follower.connections == 2
    fills = [(e.tx_hash[:4], e.actor_id[-4:], e.side, e.aggressor) for e in ctx.events]
    assert fills == [("0xa1", "b0b0", "sell", False), ("0xa1", "a11c", "buy", True),
                     ("0xa2", "a11c", "sell", False), ("0xa2", "b0b0", "buy", True),
                     ("0xa3", "b0b0", "sell", False), ("0xa3", "a11c", "buy", True)]
    assert [e.ts // S for e in ctx.events] == [1_700_000_000] * 2 + [1_700_000_002] * 2 + [
        1_700_000_008] * 2
    assert {e.extra["nonce"] for e in ctx.events} == {42}
    assert node.count("eth_subscribe") == 3  # rate-limited once, then once per connection
    assert node.count("eth_getLogs") == 1  # the catch-up after the drop
    assert node.count("eth_getBlockByNumber") == 4  # 3 blocks, one "header not found" retry
    assert node.count("eth_getTransactionByHash") == 3  # one per maker leg's transaction
    assert follower.retrier.rate_limited == 1
    assert ctx.recorded_events == [] and ctx.rejects == []
    # what was recorded scans offline to the same events (duplicates dropped again)
    offline = PolymarketNormalizer()
    assert [e for f in ctx.frames for e in offline.normalize(f, None)] == ctx.events


def test_ws_follower_reports_a_gap_when_catch_up_fails():
    m1 = match_logs(WALLET_B, WALLET_A, block=2000, tx="0x" + "b1" * 32)
    m2 = match_logs(WALLET_A, WALLET_B, block=2002, tx="0x" + "b2" * 32)
    node = FakePolygon(m1 + m2, {2000: 1_700_000_000, 2002: 1_700_000_004}, head=1999)

    async def script(conn: int, ws, sub_id: str) -> None:
        if conn == 0:
            await ws.send(notification(sub_id, m1[0]))
            await asyncio.sleep(0.2)
            node.head = 2001
            node.fail_next("eth_getLogs", (-32601, "eth_getLogs is disabled on this plan"))
            await drop(ws)
        else:
            await asyncio.sleep(0.2)
            await ws.send(notification(sub_id, m2[0]))

    handler, _ = ws_node_handler(node, script)
    ctx = Ctx()

    async def scenario() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            follower = ChainFollower(fast(), f"ws://127.0.0.1:{port}")
            task = asyncio.create_task(follower.run(ctx.context()))
            await ctx.until(lambda: sum(e.kind == "order.filled" for e in ctx.events) >= 4)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    asyncio.run(scenario())
    [gap] = ctx.recorded_events
    assert (gap.kind, gap.market_id, gap.extra["feed"], gap.extra["from_block"],
            gap.extra["to_block"]) == ("feed.gap", "feed:chain", "chain", 2000, 2001)
    assert "disabled" in gap.extra["reason"]
    assert [e.kind for e in ctx.events] == ["order.filled"] * 2 + ["feed.gap"] + [
        "order.filled"] * 2


# ----------------------------------------------------------------------------- CLI


def test_flow_polymarket_backfill_command(pm_chain_logs, tmp_path, monkeypatch):
    import typer
    from horizon_flow_venue_polymarket.plugin import flow_commands
    from typer.testing import CliRunner

    from horizon_flow_core.feeds.raw import iter_raw_recording

    real = pm_chain_logs[0]
    broken = dict(real, logIndex="0x999", data="0x1234")  # a log the decoder must reject
    node = FakePolygon(recorded_match_around_real_log(real) + [broken], {V2_BLOCK: V2_TS},
                       head=V2_BLOCK + 2)
    app = typer.Typer()
    flow_commands(app)

    @app.command("version")  # typer needs a second command to keep the group
    def version() -> None:
        pass

    with HttpNode(node, "/v2/CLISECRETKEY42") as http:
        monkeypatch.setenv("POLYGON_RPC_URL", http.url)
        out, raw = tmp_path / "fills.jsonl", tmp_path / "logs.raw.jsonl"
        result = CliRunner().invoke(app, ["polymarket", "backfill", "--from-block",
                                          str(V2_BLOCK - 2), "--out", str(out), "--raw",
                                          str(raw)])
        assert result.exit_code == 0, result.output
        monkeypatch.setenv("POLYGON_RPC_URL", http.url.replace("/v2/", "/nope/"))
        node.fail_next("eth_blockNumber", (-32601, "method not allowed for key CLISECRETKEY42"))
        failed = CliRunner().invoke(app, ["polymarket", "backfill", "--from-block", "1"])
    assert "2 fills from 4 logs" in result.output and "1 rejected" in result.output
    events = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [(e["actor_id"][:6], e["side"]) for e in events] == [("0xa253", "sell"),
                                                                 ("0x92c9", "buy")]
    replayed = [e.to_dict() for e in iter_raw_recording(raw, PolymarketNormalizer())]
    assert replayed == events
    assert failed.exit_code == 1 and "CLISECRETKEY42" not in failed.output
    assert failed.output.startswith("error: ") and failed.output.count("\n") == 1
