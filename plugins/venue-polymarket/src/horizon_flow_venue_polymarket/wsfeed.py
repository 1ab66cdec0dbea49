"""One resilient WebSocket subscription: connect, subscribe, heartbeat, read, reconnect.

Shared by the CLOB market channel and the RTDS activity feed. Every frame is
handed to ``ctx.record_frame`` *before* it is normalized (so a recording holds
exactly what arrived, garbage included), then normalized; a frame the
normalizer rejects goes to ``ctx.reject`` and the stream goes on.

Connection health:

* a text heartbeat (``PING``) every ``ping_interval_s``;
* no frame at all (not even the ``PONG``) for ``stale_after_s`` -> one
  ``feed.stale`` per market of the connection, then close, reconnect and
  resubscribe;
* a connection that drops after it was open -> one ``feed.gap`` per market
  (a feed without markets, like RTDS activity, uses ``market_id``
  ``"feed:<name>"``: its loss touches no book, and ``"*"`` would tell the
  engine every book is unknown);
* reconnects wait with exponential backoff and jitter, reset once frames flow.

``feed.gap``/``feed.stale`` events go to ``ctx.record_event`` (so scanning the
recording reproduces them) and to ``ctx.emit``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import orjson

from horizon_flow_core.aio import recv_within
from horizon_flow_core.components import FrameNormalizer, SourceContext
from horizon_flow_core.errors import FeedError
from horizon_flow_core.events import MarketEvent
from horizon_flow_core.logs import redact

from .backoff import Backoff
from .state import VENUE

log = logging.getLogger("horizon_flow.venue.polymarket.ws")

MAX_FRAME_BYTES = 64 * 1024 * 1024  # a 500-asset subscription answers with one big book array


def decode_frame(raw: str | bytes) -> Any:
    """What to record and normalize: parsed JSON when it parses, else the text as sent."""
    if isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw).decode("utf-8", "replace")
    text = raw.strip()
    if text and text[0] in "[{":
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return raw
    return raw


class WsFeed:
    """One connection's loop. Subclasses say what to send and which markets it covers."""

    name = "ws"
    heartbeat = "PING"

    def __init__(self, *, url: str, normalizer: FrameNormalizer, markets: Sequence[str],
                 label: str, ping_interval_s: float, stale_after_s: float, open_timeout_s: float,
                 reconnect_initial_s: float, reconnect_max_s: float) -> None:
        self.url = url
        self.normalizer = normalizer
        self.markets = list(markets)
        self.label = label
        self.ping_interval_s = ping_interval_s
        self.stale_after_s = stale_after_s
        self.open_timeout_s = open_timeout_s
        self.backoff = Backoff(reconnect_initial_s, reconnect_max_s)
        self.connections = 0  #: connections opened so far (observable in tests and metrics)

    # -- what subclasses define ----------------------------------------------------
    def subscribe_messages(self) -> list[str]:
        raise NotImplementedError

    # -- the loop --------------------------------------------------------------------
    async def run(self, ctx: SourceContext) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        while True:
            reason: str | None = None
            stale = False
            try:
                async with connect(self.url, open_timeout=self.open_timeout_s,
                                   ping_interval=None, close_timeout=1.0,
                                   max_size=MAX_FRAME_BYTES) as ws:
                    self.connections += 1
                    ctx.metric("polymarket_ws_connects_total", 1.0, feed=self.name,
                               conn=self.label)
                    log.info("%s %s connected (connection %d)", self.name, self.label,
                             self.connections)
                    for message in self.subscribe_messages():
                        await ws.send(message)
                    stale = await self._read(ws, ctx)
            except asyncio.CancelledError:
                raise
            except (WebSocketException, OSError, TimeoutError) as exc:
                reason = redact(f"{type(exc).__name__}: {exc}")[:300]
            if stale:
                pass  # feed.stale already emitted; reconnect and resubscribe
            elif reason is not None:
                log.warning("%s %s connection lost: %s", self.name, self.label, reason)
                if self.connections:
                    self._feed_event(ctx, "feed.gap", reason)
            delay = self.backoff.next()
            ctx.metric("polymarket_ws_reconnects_total", 1.0, feed=self.name, conn=self.label)
            await asyncio.sleep(delay)

    async def _read(self, ws: Any, ctx: SourceContext) -> bool:
        """Read until the connection ends (raises) or goes silent (returns True)."""
        pinger = asyncio.create_task(self._ping(ws))
        try:
            while True:
                try:
                    raw = await recv_within(ws, self.stale_after_s)
                except TimeoutError:
                    log.warning("%s %s silent for %.1fs: reconnecting", self.name, self.label,
                                self.stale_after_s)
                    self._feed_event(ctx, "feed.stale",
                                     f"no frame for {self.stale_after_s:g}s")
                    await ws.close()
                    return True
                self.backoff.reset()
                self.handle(raw, ctx.clock(), ctx)
        finally:
            pinger.cancel()

    async def _ping(self, ws: Any) -> None:
        try:
            while True:
                await asyncio.sleep(self.ping_interval_s)
                await ws.send(self.heartbeat)
        except asyncio.CancelledError:
            raise
        except Exception:  # the reader sees the closed connection and reconnects
            return

    def handle(self, raw: str | bytes, recv_ts: int, ctx: SourceContext) -> None:
        frame = decode_frame(raw)
        ctx.record_frame(frame, recv_ts)
        ctx.metric("polymarket_frames_total", 1.0, feed=self.name)
        try:
            events = self.normalizer.normalize(frame, recv_ts)
        except FeedError as exc:
            ctx.metric("polymarket_rejects_total", 1.0, feed=self.name)
            ctx.reject(exc.render(), frame)
            return
        except Exception as exc:  # a normalizer bug must not end the stream
            log.exception("%s: normalizer failed on a frame", self.name)
            ctx.metric("polymarket_rejects_total", 1.0, feed=self.name)
            ctx.reject(f"venue plugin failed on this frame: {type(exc).__name__}: {exc}", frame)
            return
        if events:
            ctx.emit(events)

    def _feed_event(self, ctx: SourceContext, kind: str, reason: str) -> None:
        ts = ctx.clock()
        extra = {"feed": self.name, "connection": self.label, "reason": reason}
        events = [MarketEvent(VENUE, market, kind, ts, extra=dict(extra))
                  for market in (self.markets or [f"feed:{self.name}"])]
        for ev in events:
            ctx.record_event(ev)
        ctx.metric(f"polymarket_{kind.replace('.', '_')}_total", 1.0, feed=self.name)
        ctx.emit(events)


class MarketChannelFeed(WsFeed):
    """One shard of the CLOB market channel (up to ``shard_size`` token ids)."""

    name = "market"
    heartbeat = "PING"

    def __init__(self, *, custom_feature_enabled: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.custom_feature_enabled = custom_feature_enabled

    def subscribe_messages(self) -> list[str]:
        message = {"assets_ids": self.markets, "type": "market",
                   "custom_feature_enabled": self.custom_feature_enabled}
        return [orjson.dumps(message).decode()]


class ActivityFeed(WsFeed):
    """RTDS ``activity/trades``: public trades with the trader's proxy wallet."""

    name = "activity"
    heartbeat = "ping"

    def __init__(self, *, market_slugs: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.market_slugs = list(market_slugs)

    def subscribe_messages(self) -> list[str]:
        if self.market_slugs:
            subs = [{"topic": "activity", "type": "trades",
                     "filters": orjson.dumps({"market_slug": slug}).decode()}
                    for slug in self.market_slugs]
        else:
            subs = [{"topic": "activity", "type": "trades"}]
        return [orjson.dumps({"action": "subscribe", "subscriptions": subs}).decode()]
