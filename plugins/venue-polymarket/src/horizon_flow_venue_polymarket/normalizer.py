"""``PolymarketNormalizer``: any Polymarket frame (or chain log) to ``MarketEvent``s.

One normalizer serves one stream (live or a recording): it keeps the dedupe
window, the token map, order/trade status and market status, so the same
frames in the same order always give the same events. What it accepts:

* market channel objects (``event_type`` book / price_change /
  last_trade_price / best_bid_ask / tick_size_change / new_market /
  market_resolved), JSON arrays of them, and the ``PONG`` heartbeat reply;
* user channel ``order`` and ``trade`` objects;
* RTDS messages (``topic`` / ``type`` / ``payload``) and Data API trade records
  (``proxyWallet`` + ``asset``), alone or in arrays;
* raw CTF Exchange logs (``address`` + ``topics`` + ``data``), as recorded by
  the chain source (with ``blockTimestamp``; older nodes' logs need a block
  timestamp map);
* metadata (REST ``/book`` answers become ``book.snapshot``; CLOB
  ``/markets`` pages and Gamma markets fill the token map and emit nothing);
* JSON text of any of these (a recording of frames kept as strings).

Anything else raises :class:`~horizon_flow_core.errors.FrameError` naming the
field, for the caller to count and keep as a reject.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson

from horizon_flow_core.errors import FeedError, FrameError, preview
from horizon_flow_core.events import MarketEvent

from . import activity, market_channel, user_channel
from .chain.contracts import exchanges_from_addresses
from .chain.fills import chain_log
from .config import PolymarketConfig
from .lru import SeenKeys
from .state import VENUE, MarketStatus, NormalizerState
from .tokens import TokenMap

log = logging.getLogger("horizon_flow.venue.polymarket")

_HANDLERS = {**market_channel.HANDLERS, **user_channel.HANDLERS}
_HEARTBEATS = frozenset({"PONG", "pong", "PING", "ping", ""})


class PolymarketNormalizer:
    """Frames in, events out. See the module docstring for the accepted shapes."""

    venue = VENUE

    def __init__(self, config: PolymarketConfig | None = None, *,
                 token_map: TokenMap | None = None,
                 block_timestamps: Mapping[int, int] | None = None) -> None:
        self.config = config or PolymarketConfig()
        if token_map is None:
            token_map = (TokenMap.from_file(self.config.token_map_file)
                         if self.config.token_map_file else TokenMap())
        self.state = NormalizerState(
            token_map=token_map,
            exchanges=exchanges_from_addresses(self.config.exchange_addresses_v1,
                                               self.config.exchange_addresses_v2,
                                               self.config.neg_risk_addresses),
            seen=SeenKeys(self.config.dedupe_capacity),
            block_timestamps=block_timestamps if block_timestamps is not None else {},
        )

    # -- observable state ------------------------------------------------------------
    @property
    def token_map(self) -> TokenMap:
        return self.state.token_map

    @property
    def market_status(self) -> dict[str, MarketStatus]:
        """Token id -> tick size, listing and resolution seen on the market channel."""
        return self.state.market_status

    @property
    def counters(self) -> Counter[str]:
        """Frames and frame parts that emitted nothing, by reason (duplicates, legs...)."""
        return self.state.counters

    def trade_status(self, trade_id: str) -> str | None:
        """Latest status (MATCHED, MINED, CONFIRMED, FAILED...) of a user-channel trade."""
        value = self.state.trade_status.get(("trade", trade_id))
        return value if isinstance(value, str) else None

    # -- the protocol --------------------------------------------------------------------
    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        if isinstance(frame, (bytes, bytearray)):
            try:
                frame = frame.decode()
            except UnicodeDecodeError:
                raise FrameError("binary frame is not UTF-8 text") from None
        if isinstance(frame, str):
            stripped = frame.strip()
            if stripped in _HEARTBEATS:
                return []
            try:
                frame = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                raise FrameError(f"not JSON and not a heartbeat: {preview(stripped, 60)}") from None
        if isinstance(frame, list):
            out: list[MarketEvent] = []
            for i, item in enumerate(frame):
                try:
                    out.extend(self._one(item, recv_ts))
                except FrameError as exc:
                    raise FrameError(f"element {i}: {exc.reason}", field=exc.field) from None
            return out
        return self._one(frame, recv_ts)

    def _one(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        if not isinstance(frame, dict):
            if isinstance(frame, str) and frame.strip() in _HEARTBEATS:
                return []
            raise FrameError(f"expected a JSON object, got {type(frame).__name__}")
        st = self.state
        event_type = frame.get("event_type")
        if event_type is not None:
            handler = _HANDLERS.get(event_type) if type(event_type) is str else None
            if handler is None:
                raise FrameError(f"unknown event_type {preview(event_type)}", field="event_type")
            return handler(frame, recv_ts, st)
        if "topics" in frame and "address" in frame:
            return chain_log(frame, recv_ts, st)
        if "topic" in frame and "payload" in frame:
            return activity.rtds(frame, recv_ts, st)
        if "proxyWallet" in frame and "asset" in frame:
            return activity.wallet_trade(frame, recv_ts, st, "data_api")
        if "maker_orders" in frame and "taker_order_id" in frame:  # trade without event_type
            return user_channel.trade(frame, recv_ts, st)
        if "original_size" in frame and "maker_address" in frame:  # order without event_type
            return user_channel.order(frame, recv_ts, st)
        if "asset_id" in frame and "bids" in frame and "asks" in frame:
            return market_channel.book(frame, recv_ts, st)  # REST GET /book
        if ("data" in frame and "next_cursor" in frame) or "clobTokenIds" in frame or (
                "tokens" in frame and "condition_id" in frame):
            try:
                st.counters["metadata_tokens"] += st.token_map.load_payload(frame)
            except FeedError as exc:
                raise FrameError(exc.reason, field=exc.field) from None
            return []
        raise FrameError("unknown frame shape (no event_type, topics, topic or proxyWallet)")


def make_normalizer(config: PolymarketConfig | None) -> PolymarketNormalizer:
    """The ``VenueSpec.make_normalizer`` factory."""
    return PolymarketNormalizer(config)
