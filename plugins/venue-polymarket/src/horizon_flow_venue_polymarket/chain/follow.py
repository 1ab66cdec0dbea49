"""Follow CTF Exchange fills live: ``eth_subscribe("logs")`` over WebSocket (AsyncWeb3).

On every (re)connection the follower subscribes, then fills the blocks it may
have missed while disconnected with ``eth_getLogs`` over the same socket (from
the last block it processed to the head; repeats are dropped by the
normalizer's dedupe on (tx hash, log index)), then reads the subscription.
Failures (connection refused or dropped, RPC errors, rate limits) wait with
exponential backoff and jitter, longer for rate limits, and reconnect. If the
catch-up itself fails (after retries), the missed blocks are reported as one
``feed.gap`` with ``market_id`` ``"feed:chain"`` (``extra``: ``feed``,
``from_block``, ``to_block``, ``reason``). Not ``"*"``: the engine reads that as
"every book is unknown", and a lost log does not touch any book.

Logs are prepared like the backfill's (block time, optional gas price and
nonce), recorded with ``ctx.record_frame`` and then normalized.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from horizon_flow_core.components import SourceContext
from horizon_flow_core.errors import FeedError
from horizon_flow_core.events import MarketEvent

from ..backoff import Backoff
from ..config import PolymarketConfig
from ..lru import BoundedDict
from ..normalizer import PolymarketNormalizer
from ..state import VENUE
from .backfill import needs_enrichment, sort_key
from .decode import plain_log
from .rpc import (
    ChainRpcError,
    RangeTooLarge,
    Retrier,
    classify,
    describe,
    log_filter,
    tx_fields,
)

log = logging.getLogger("horizon_flow.venue.polymarket.chain")

#: market_id of gaps in the chain feed (fills may be missing; books are unaffected)
IDENTITY_GAP_MARKET = "feed:chain"


class ChainFollower:
    """A :class:`~horizon_flow_core.components.LiveSource` of on-chain fills."""

    venue = VENUE

    def __init__(self, config: PolymarketConfig, ws_url: str,
                 normalizer: PolymarketNormalizer | None = None,
                 start_block: int | None = None) -> None:
        self.config = config
        self.ws_url = ws_url
        self.normalizer = normalizer or PolymarketNormalizer(config)
        self.exchanges = sorted(self.normalizer.state.exchanges)
        self.retrier = Retrier(config, ws_url)
        self.backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s)
        #: the last block whose logs were processed; catch-up starts here
        self.last_block: int | None = start_block
        self.connections = 0
        self._block_ts: BoundedDict[int, int] = BoundedDict(config.block_cache_size)
        self._tx: BoundedDict[str, dict[str, Any]] = BoundedDict(config.block_cache_size)

    @classmethod
    def from_env(cls, config: PolymarketConfig, normalizer: PolymarketNormalizer | None = None,
                 environ: dict[str, str] | None = None) -> ChainFollower:
        url = config.rpc_ws_url(environ)
        if not url:
            raise ChainRpcError(f"no Polygon WebSocket RPC: set ${config.rpc_ws_url_env} "
                                f"or ${config.rpc_url_env}")
        return cls(config, url, normalizer)

    async def run(self, ctx: SourceContext) -> None:
        from web3 import AsyncWeb3, WebSocketProvider

        while True:
            try:
                provider = WebSocketProvider(
                    self.ws_url, max_connection_retries=1,
                    request_timeout=self.config.rpc_timeout_s,
                    websocket_kwargs={"open_timeout": self.config.open_timeout_s})
                async with AsyncWeb3(provider) as w3:
                    await self._session(w3, ctx)
                reason = "subscription ended"
                rate_limited = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = describe(exc, self.ws_url)
                rate_limited = classify(exc) == "rate_limit"
            log.warning("chain follower: %s; reconnecting", reason)
            ctx.metric("polymarket_chain_reconnects_total", 1.0)
            delay = self.backoff.next() * (2 if rate_limited else 1)
            await asyncio.sleep(delay)

    async def _session(self, w3: Any, ctx: SourceContext) -> None:
        await self.retrier.acall(
            lambda: w3.eth.subscribe("logs", log_filter(self.exchanges)), "eth_subscribe")
        self.connections += 1
        ctx.metric("polymarket_chain_connects_total", 1.0)
        if self.last_block is None:
            # Where the stream starts: a later reconnect catches up from here.
            self.last_block = int(await self.retrier.acall(lambda: w3.eth.block_number,
                                                           "eth_blockNumber"))
        else:
            await self._catch_up(w3, ctx)
        self.backoff.reset()
        async for message in w3.socket.process_subscriptions():
            result = message.get("result") if isinstance(message, dict) else None
            if result is None:
                continue
            await self._handle(w3, plain_log(result), ctx)

    async def _catch_up(self, w3: Any, ctx: SourceContext) -> None:
        assert self.last_block is not None
        start = self.last_block
        head: int | None = None
        try:
            head = int(await self.retrier.acall(lambda: w3.eth.block_number, "eth_blockNumber"))
            chunk = self.config.log_chunk_blocks
            while start <= head:
                end = min(start + chunk - 1, head)
                flt = log_filter(self.exchanges, start, end)

                def get_logs(flt: dict[str, Any] = flt) -> Any:
                    return w3.eth.get_logs(flt)

                try:
                    logs = await self.retrier.acall(get_logs, f"eth_getLogs {start}-{end}")
                except RangeTooLarge:
                    if chunk <= self.config.min_log_chunk_blocks:
                        raise
                    chunk = max(self.config.min_log_chunk_blocks, chunk // 2)
                    continue
                for frame in sorted((plain_log(x) for x in logs), key=sort_key):
                    await self._handle(w3, frame, ctx)
                start = end + 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = describe(exc, self.ws_url)
            log.warning("chain follower: catch-up from block %d failed: %s", start, reason)
            ev = MarketEvent(VENUE, IDENTITY_GAP_MARKET, "feed.gap", ctx.clock(),
                             extra={"feed": "chain", "from_block": start,
                                    "to_block": head, "reason": reason})
            ctx.record_event(ev)
            ctx.emit([ev])
            # Reported; go on with the live subscription rather than retry forever.
            if head is not None:
                self.last_block = max(self.last_block, head)

    async def _prepare(self, w3: Any, frame: dict[str, Any]) -> dict[str, Any]:
        if frame.get("blockTimestamp") is None and frame.get("blockNumber") is not None:
            number = int(frame["blockNumber"], 16)
            ts = self._block_ts.get(number)
            if ts is None:
                block = await self.retrier.acall(lambda: w3.eth.get_block(number),
                                                 f"eth_getBlockByNumber {number}")
                ts = int(block["timestamp"])
                self._block_ts.put(number, ts)
            frame["blockTimestamp"] = hex(ts)
        tx_hash = frame.get("transactionHash")
        if self.config.enrich_on_chain and tx_hash and needs_enrichment(
                frame, self.normalizer.state.exchanges):
            info = self._tx.get(tx_hash)
            if info is None:
                tx = await self.retrier.acall(lambda: w3.eth.get_transaction(tx_hash),
                                              f"eth_getTransactionByHash {tx_hash[:12]}")
                info = tx_fields(tx)
                self._tx.put(tx_hash, info)
            frame["_tx"] = dict(info)
        return frame

    async def _handle(self, w3: Any, frame: dict[str, Any], ctx: SourceContext) -> None:
        frame = await self._prepare(w3, frame)
        ctx.record_frame(frame, ctx.clock())
        ctx.metric("polymarket_frames_total", 1.0, feed="chain")
        try:
            events = self.normalizer.normalize(frame, None)
        except FeedError as exc:
            ctx.reject(exc.render(), frame)
            return
        block = frame.get("blockNumber")
        if isinstance(block, str) and not frame.get("removed"):
            number = int(block, 16)
            if self.last_block is None or number > self.last_block:
                self.last_block = number
        if events:
            ctx.emit(events)
