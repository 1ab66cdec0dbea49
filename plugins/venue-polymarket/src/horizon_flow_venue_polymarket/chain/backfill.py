"""Backfill CTF Exchange fills for a block range through ``eth_getLogs``, in chunks.

Each chunk is one ``eth_getLogs`` over every configured exchange and topic.
When the node refuses the range (too many blocks or results), the chunk is
halved and the same start block retried, down to ``min_log_chunk_blocks``;
the refused size becomes a ceiling, and after a success the chunk doubles back
toward it (the ceiling is lifted again after 64 good chunks, since limits on
result counts depend on how busy the blocks are). Rate
limits and transient errors are retried with backoff inside each call (see
:mod:`.rpc`).

Before a log is normalized it is *prepared* and that is what gets recorded:
``blockTimestamp`` added when the node did not send it (one cached
``eth_getBlockByNumber`` per block) and, with ``enrich_on_chain``, ``_tx``
(gas price, nonce, sender; one cached ``eth_getTransactionByHash`` per
transaction, and only for logs that produce fills). A recording of prepared
logs therefore scans offline to the same events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from horizon_flow_core.errors import FeedError
from horizon_flow_core.events import MarketEvent

from ..config import PolymarketConfig
from ..normalizer import PolymarketNormalizer
from .decode import ChainFill, decode_log
from .rpc import ChainRpc, ChainRpcError, RangeTooLarge

log = logging.getLogger("horizon_flow.venue.polymarket.chain")


def needs_enrichment(frame: dict[str, Any], exchanges: Any) -> bool:
    """True for a maker-leg ``OrderFilled`` (the only logs that become events)."""
    try:
        decoded = decode_log(frame, exchanges)
    except Exception:
        return False
    return (isinstance(decoded, ChainFill) and not decoded.is_aggregate_leg
            and decoded.taker not in exchanges)


def sort_key(frame: dict[str, Any]) -> tuple[int, int]:
    return (int(frame.get("blockNumber") or "0x0", 16), int(frame.get("logIndex") or "0x0", 16))


class ChainBackfill:
    """``run(from_block, to_block)`` yields ``order.filled`` events in chain order."""

    def __init__(self, config: PolymarketConfig, rpc: ChainRpc,
                 normalizer: PolymarketNormalizer | None = None) -> None:
        self.config = config
        self.rpc = rpc
        self.normalizer = normalizer or PolymarketNormalizer(config)
        self.exchanges = sorted(self.normalizer.state.exchanges)
        self.chunk = config.log_chunk_blocks
        self.ceiling = config.log_chunk_blocks
        self.chunks_done = 0
        self.range_shrinks = 0
        self.rejects = 0
        self._good_in_a_row = 0

    @classmethod
    def from_env(cls, config: PolymarketConfig, normalizer: PolymarketNormalizer | None = None,
                 environ: dict[str, str] | None = None) -> ChainBackfill:
        url = config.rpc_url(environ)
        if not url:
            raise ChainRpcError(f"no Polygon RPC: set ${config.rpc_url_env}")
        return cls(config, ChainRpc(config, url), normalizer)

    def prepare(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Add block time and (when configured) transaction details to a plain log."""
        if frame.get("blockTimestamp") is None and frame.get("blockNumber") is not None:
            number = int(frame["blockNumber"], 16)
            frame["blockTimestamp"] = hex(self.rpc.block_timestamp(number))
        if self.config.enrich_on_chain and frame.get("transactionHash") and needs_enrichment(
                frame, self.normalizer.state.exchanges):
            frame["_tx"] = self.rpc.tx_info(frame["transactionHash"])
        return frame

    def logs(self, from_block: int, to_block: int) -> Iterator[dict[str, Any]]:
        """Prepared raw logs of the range, chunk by chunk, in (block, logIndex) order."""
        if to_block < from_block:
            return
        start = from_block
        while start <= to_block:
            end = min(start + self.chunk - 1, to_block)
            try:
                batch = self.rpc.get_logs(self.exchanges, start, end)
            except RangeTooLarge as exc:
                if self.chunk <= self.config.min_log_chunk_blocks:
                    raise ChainRpcError(f"{exc} (already at {self.chunk} block(s))") from None
                self.ceiling = self.chunk - 1
                self.chunk = max(self.config.min_log_chunk_blocks, self.chunk // 2)
                self.range_shrinks += 1
                self._good_in_a_row = 0
                log.info("eth_getLogs range refused; chunk now %d blocks", self.chunk)
                continue
            self.chunks_done += 1
            for frame in sorted(batch, key=sort_key):
                yield self.prepare(frame)
            start = end + 1
            self._good_in_a_row += 1
            if self._good_in_a_row % 64 == 0:
                self.ceiling = self.config.log_chunk_blocks
            self.chunk = max(self.chunk, min(self.ceiling, self.chunk * 2))

    def run(self, from_block: int, to_block: int,
            record_frame: Callable[[Any, int], None] | None = None,
            clock: Callable[[], int] | None = None,
            reject: Callable[[str, Any], None] | None = None) -> Iterator[MarketEvent]:
        """Events of the range; each prepared log is recorded before it is normalized.

        A log the normalizer cannot read goes to ``reject`` (or is logged) and
        the backfill goes on.
        """
        for frame in self.logs(from_block, to_block):
            if record_frame is not None:
                record_frame(frame, clock() if clock else 0)
            try:
                events = self.normalizer.normalize(frame, None)
            except FeedError as exc:
                self.rejects += 1
                if reject is not None:
                    reject(exc.render(), frame)
                else:
                    log.warning("rejected log %s: %s", frame.get("transactionHash"),
                                exc.render())
                continue
            yield from events
