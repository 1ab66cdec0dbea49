"""The live Hyperliquid source: WebSocket connections that never give up.

``run(ctx)`` works out the subscriptions (:mod:`.subscriptions`; the coin
list from the info endpoint's ``meta`` when none is configured), opens one
task per connection and one watchdog, and runs until cancelled:

* every frame received is handed to ``ctx.record_frame`` with its receive
  time **before** it is normalized, so a recording replays into the same
  events. Frames of a wallet lane's ``orderUpdates``/``user`` channels get the
  lane's wallet as a top-level ``"user"`` key first (the venue leaves it out;
  without it the recording could not say whose orders they are);
* ``{"method":"ping"}`` goes out every ``ping_interval_s`` (the venue closes
  connections idle for 60 s); no frame within ``pong_timeout_s`` of a ping
  means the connection is dead;
* a lost connection is reopened after an exponential backoff with jitter
  (``reconnect_min_s`` x ``reconnect_factor``^n, capped at
  ``reconnect_max_s``, times a random factor in [0.5, 1)), resubscribed, and
  a ``feed.gap`` per market it carries (``"*"`` for a wallet lane) covers the
  interval from its last frame to the resubscription;
* a stream of ``stale_channels`` quiet for ``stale_after_s`` is reported once
  as ``feed.stale`` (again only after it has spoken since);
* events the source makes itself go to ``ctx.record_event`` as well as
  ``ctx.emit``; frames that do not normalize go to ``ctx.reject``, and the
  source carries on. One normalizer serves all connections, so a trade
  resent after a reconnect, or seen on two streams, is emitted once.

Counters (``ctx.metric``, label ``venue="hyperliquid"``): ``connects``,
``reconnects``, ``frames``, ``events``, ``rejects``, ``duplicates``,
``pings``, ``gaps``, ``stale``, ``info_errors``, ``subscriptions_dropped``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

import attrs
import orjson
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import WebSocketException

from horizon_flow_core.aio import recv_within
from horizon_flow_core.components import SourceContext
from horizon_flow_core.errors import FlowError, FrameError
from horizon_flow_core.events import MarketEvent

from .config import HyperliquidConfig
from .fields import VENUE
from .info import fetch_perp_coins
from .normalizer import HyperliquidNormalizer
from .subscriptions import CHANNEL_OF, ConnectionPlan, Plan, plan_connections

log = logging.getLogger("horizon_flow.venue.hyperliquid")

_PING = orjson.dumps({"method": "ping"}).decode()
# Channels of wallet lanes whose frames do not name the wallet.
_UNATTRIBUTED = frozenset({"orderUpdates", "user", "userEvents"})
_NS = 1_000_000_000


class _Dead(Exception):
    """The connection stopped answering."""


@attrs.define
class _Stream:
    channel: str
    key: str
    connection: str
    market: bool
    active: bool = False
    since_ns: int = 0
    last_ns: int | None = None
    stale: bool = False


@attrs.define
class _ConnState:
    connected: bool = False  # ever connected (a gap needs something to be missing from)
    got_frame: bool = False  # since the last connect
    last_rx: int | None = None


class HyperliquidSource:
    """``LiveSource`` for Hyperliquid. ``connect`` and ``rng`` are injectable for tests."""

    venue = VENUE

    def __init__(self, config: HyperliquidConfig | None = None, *,
                 normalizer: HyperliquidNormalizer | None = None,
                 rng: random.Random | None = None,
                 connect: Callable[..., Any] | None = None,
                 fetch_coins: Callable[[], list[str]] | None = None) -> None:
        self.config = config if config is not None else HyperliquidConfig()
        self.normalizer = normalizer if normalizer is not None else HyperliquidNormalizer(
            self.config)
        seed = self.config.jitter_seed
        self._rng = rng if rng is not None else random.Random(seed if seed >= 0 else None)
        self._connect = connect if connect is not None else ws_connect
        cfg = self.config
        self._fetch_coins = fetch_coins if fetch_coins is not None else (
            lambda: fetch_perp_coins(cfg.info_url, cfg.info_timeout_s))
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._duplicates_seen = 0
        #: the plan in use (after ``run`` started), for status displays and tests
        self.plan: Plan | None = None

    # ------------------------------------------------------------------ run

    async def run(self, ctx: SourceContext) -> None:
        coins = list(self.config.coins) or await self._coins_from_info(ctx)
        plan = plan_connections(coins, self.config)
        self.plan = plan
        for warning in plan.warnings:
            log.warning("hyperliquid: %s", warning)
        dropped = len(plan.dropped_coins) * len(self.config.channels) + len(
            plan.dropped_wallets) * len(self.config.wallet_channels)
        if dropped:
            ctx.metric("subscriptions_dropped", float(dropped), venue=VENUE)
        for conn in plan.connections:
            for sub in conn.subscriptions:
                channel, key = sub.stream
                self._streams[(channel, key)] = _Stream(channel, key, conn.name,
                                                        market=conn.wallet is None)
        if not plan.connections:
            log.warning("hyperliquid: nothing to subscribe to (no coins, no wallets)")
            return
        async with asyncio.TaskGroup() as group:
            for conn in plan.connections:
                group.create_task(self._connection(conn, ctx), name=f"hyperliquid-{conn.name}")
            group.create_task(self._watchdog(ctx), name="hyperliquid-watchdog")

    async def _coins_from_info(self, ctx: SourceContext) -> list[str]:
        attempt = 0
        while True:
            try:
                coins = await asyncio.to_thread(self._fetch_coins)
                log.info("hyperliquid: %d coins listed by the info endpoint", len(coins))
                return coins
            except FlowError as exc:
                ctx.metric("info_errors", venue=VENUE)
                delay = self._backoff(attempt)
                attempt += 1
                log.warning("hyperliquid: %s; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        cfg = self.config
        base = min(cfg.reconnect_max_s, cfg.reconnect_min_s * cfg.reconnect_factor ** attempt)
        return base * (0.5 + 0.5 * self._rng.random())

    # ------------------------------------------------------------------ one connection

    async def _connection(self, plan: ConnectionPlan, ctx: SourceContext) -> None:
        cfg = self.config
        attempt = 0
        state = _ConnState()
        gap_start: int | None = None
        gap_reason = ""
        while True:
            reason = "closed by the server"
            state.got_frame = False
            try:
                async with self._connect(cfg.ws_url, open_timeout=cfg.connect_timeout_s,
                                         ping_interval=None, close_timeout=1.0,
                                         max_size=cfg.max_frame_bytes) as ws:
                    for sub in plan.subscriptions:
                        await ws.send(orjson.dumps(sub.message()).decode())
                    now = ctx.clock()
                    self._activate(plan, now)
                    ctx.metric("connects", venue=VENUE)
                    if gap_start is not None:
                        self._report_gap(plan, gap_start, now, gap_reason, ctx)
                        gap_start = None
                    state.connected = True
                    log.info("hyperliquid: %s connected, %d subscriptions", plan.name,
                             len(plan.subscriptions))
                    await self._read(ws, plan, ctx, state)
            except asyncio.CancelledError:
                raise
            except _Dead as exc:
                reason = str(exc)
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._deactivate(plan)
            if state.connected and gap_start is None:
                # Data is complete up to the last frame received; the gap starts there.
                gap_start = state.last_rx if state.last_rx is not None else ctx.clock()
                gap_reason = reason
            if state.got_frame:
                attempt = 0  # it worked for a while: start the backoff afresh
            delay = self._backoff(attempt)
            attempt += 1
            ctx.metric("reconnects", venue=VENUE)
            log.warning("hyperliquid: %s lost (%s); reconnecting in %.2f s", plan.name, reason,
                        delay)
            await asyncio.sleep(delay)

    async def _read(self, ws: Any, plan: ConnectionPlan, ctx: SourceContext,
                    state: _ConnState) -> None:
        """Read frames and ping until the connection ends (by an exception)."""
        cfg = self.config
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + cfg.ping_interval_s
        pong_deadline: float | None = None
        while True:
            deadline = next_ping if pong_deadline is None else min(next_ping, pong_deadline)
            try:
                raw = await recv_within(ws, deadline - loop.time())
            except TimeoutError:
                now = loop.time()
                if pong_deadline is not None and now >= pong_deadline:
                    raise _Dead(f"no frame within {cfg.pong_timeout_s:g} s of a ping") from None
                if now >= next_ping:
                    await ws.send(_PING)
                    ctx.metric("pings", venue=VENUE)
                    next_ping = now + cfg.ping_interval_s
                    if pong_deadline is None:
                        pong_deadline = now + cfg.pong_timeout_s
                continue
            pong_deadline = None  # any frame shows the connection is alive
            recv_ts = ctx.clock()
            state.last_rx = recv_ts
            state.got_frame = True
            self._handle(raw, recv_ts, plan, ctx)

    # ------------------------------------------------------------------ frames

    def _handle(self, raw: Any, recv_ts: int, plan: ConnectionPlan, ctx: SourceContext) -> None:
        if isinstance(raw, (bytes, bytearray)):
            raw = bytes(raw).decode("utf-8", errors="replace")
        frame: Any
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            frame = raw  # kept as received; the normalizer rejects it with the reason
        if (plan.wallet is not None and type(frame) is dict
                and frame.get("channel") in _UNATTRIBUTED and "user" not in frame):
            frame["user"] = plan.wallet
        ctx.record_frame(frame, recv_ts)
        ctx.metric("frames", venue=VENUE)
        self._touch(frame, plan, recv_ts)
        try:
            events = self.normalizer.normalize(frame, recv_ts)
        except FrameError as exc:
            ctx.reject(str(exc), frame)
            ctx.metric("rejects", venue=VENUE)
            events = []
        except Exception as exc:  # a normalizer bug must not stop the feed
            log.exception("hyperliquid: normalizer failed on a frame")
            ctx.reject(f"internal error: {type(exc).__name__}: {exc}", frame)
            ctx.metric("rejects", venue=VENUE)
            events = []
        for reason, item in self.normalizer.take_rejects():
            ctx.reject(reason, item)
            ctx.metric("rejects", venue=VENUE)
        dups = self.normalizer.duplicates - self._duplicates_seen
        if dups:
            self._duplicates_seen = self.normalizer.duplicates
            ctx.metric("duplicates", float(dups), venue=VENUE)
        if events:
            ctx.emit(events)
            ctx.metric("events", float(len(events)), venue=VENUE)

    def _touch(self, frame: Any, plan: ConnectionPlan, recv_ts: int) -> None:
        """Note which subscribed streams this frame shows alive."""
        if type(frame) is not dict:
            return
        channel = frame.get("channel")
        data = frame.get("data")
        keys: list[str] = []
        if plan.wallet is not None:
            keys = [plan.wallet]
        elif channel in ("l2Book", "bbo") and isinstance(data, dict):
            keys = [str(data.get("coin"))]
        elif channel == "trades" and isinstance(data, list):
            keys = sorted({str(t.get("coin")) for t in data if isinstance(t, dict)})
        for key in keys:
            stream = self._streams.get((str(channel), key))
            if stream is not None:
                stream.last_ns = recv_ts
                if stream.stale:
                    stream.stale = False
                    log.info("hyperliquid: %s %s speaks again", channel, key)

    # ------------------------------------------------------------------ gaps and staleness

    def _activate(self, plan: ConnectionPlan, now: int) -> None:
        for sub in plan.subscriptions:
            stream = self._streams[sub.stream]
            stream.active, stream.since_ns, stream.last_ns, stream.stale = True, now, None, False

    def _deactivate(self, plan: ConnectionPlan) -> None:
        for sub in plan.subscriptions:
            self._streams[sub.stream].active = False

    def _report_gap(self, plan: ConnectionPlan, start: int, end: int, reason: str,
                    ctx: SourceContext) -> None:
        events = []
        for market in plan.markets or ("*",):
            extra: dict[str, Any] = {"gap_start_ns": start, "gap_end_ns": end, "reason": reason,
                                     "connection": plan.name}
            if plan.wallet is not None:
                extra["wallet"] = plan.wallet
            events.append(MarketEvent(VENUE, market, "feed.gap", end,
                                      actor_id=plan.wallet, extra=extra))
        ctx.metric("gaps", venue=VENUE)
        log.warning("hyperliquid: %s missed %.3f s (%s)", plan.name, (end - start) / _NS, reason)
        self._source_events(events, ctx)

    async def _watchdog(self, ctx: SourceContext) -> None:
        cfg = self.config
        limit_ns = int(cfg.stale_after_s * _NS)
        period = min(1.0, cfg.stale_after_s / 4)
        watched = {CHANNEL_OF[c] for c in cfg.stale_channels}
        while True:
            await asyncio.sleep(period)
            now = ctx.clock()
            stale: list[MarketEvent] = []
            for key in sorted(self._streams):
                stream = self._streams[key]
                if stream.channel not in watched or not stream.active or stream.stale:
                    continue
                since = stream.last_ns if stream.last_ns is not None else stream.since_ns
                if now - since <= limit_ns:
                    continue
                stream.stale = True
                extra = {"channel": stream.channel, "stream": stream.key,
                         "quiet_since_ns": since, "quiet_ns": now - since,
                         "connection": stream.connection}
                stale.append(MarketEvent(VENUE, stream.key if stream.market else "*",
                                         "feed.stale", now,
                                         actor_id=None if stream.market else stream.key,
                                         extra=extra))
                log.warning("hyperliquid: %s %s quiet for %.1f s", stream.channel, stream.key,
                            (now - since) / _NS)
            if stale:
                ctx.metric("stale", float(len(stale)), venue=VENUE)
                self._source_events(stale, ctx)

    @staticmethod
    def _source_events(events: list[MarketEvent], ctx: SourceContext) -> None:
        for ev in events:
            ctx.record_event(ev)
        ctx.emit(events)
