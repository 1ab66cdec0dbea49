"""The live Kalshi connection: signed handshake, subscriptions, sequence repair, reconnects.

One :class:`KalshiLiveSource` owns one WebSocket at a time:

* The handshake carries ``KALSHI-ACCESS-KEY``, ``KALSHI-ACCESS-TIMESTAMP`` (ms)
  and ``KALSHI-ACCESS-SIGNATURE``, signed afresh (new timestamp) for every
  connection attempt. A refused handshake (HTTP 401/403) is retried at most
  ``max_auth_failures`` times in a row, then :class:`KalshiAuthError` ends
  :meth:`run` with one line naming the environment variables to check.
* One ``subscribe`` per configured channel, command ids counting up from 1 on
  each connection (``sid``\\ s are not kept across connections).
* The server's ping frames are answered by the ``websockets`` library.
* Every frame goes to ``ctx.record_frame`` before it is normalized; frames
  that cannot be read go to ``ctx.reject`` and the stream goes on. The
  commands we send are recorded too, as ``{"_kind": "client_command", ...}``
  objects, which the normalizer skips.
* A ``seq`` gap on an order-book subscription (found by the normalizer, which
  emits ``feed.gap``) makes the source send ``update_subscription`` with
  ``action = "get_snapshot"`` for the affected markets; deltas for them are
  dropped until the snapshot arrives, and the request is repeated every
  ``snapshot_retry_s`` while they stay out of sync.
* Error codes 10 (channel error) and 25 (buffer overflow) are terminal for a
  subscription: the channel is subscribed again.
* After a lost connection it reconnects with exponential backoff plus jitter.
* No frame for ``stale_after_s``: one ``feed.stale`` event per quiet spell
  (emitted and given to ``ctx.record_event``, since no frame carries it).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from horizon_flow_core.aio import recv_within
from horizon_flow_core.components import SourceContext
from horizon_flow_core.errors import ConfigError, FrameError
from horizon_flow_core.events import MarketEvent

from .auth import KalshiAuthError, KalshiSigner
from .config import UNFILTERED_CHANNELS, KalshiConfig
from .normalizer import TERMINAL_ERROR_CODES, VENUE, KalshiNormalizer

log = logging.getLogger("horizon_flow.venue.kalshi")

WS_SIGN_PATH = "/trade-api/ws/v2"
_AUTH_STATUSES = frozenset({401, 403})


class KalshiLiveSource:
    """Live Kalshi WebSocket v2 source. ``await source.run(ctx)`` until cancelled."""

    venue = VENUE

    def __init__(self, config: KalshiConfig | None = None, *,
                 normalizer: KalshiNormalizer | None = None, signer: KalshiSigner | None = None,
                 environ: dict[str, str] | None = None, rng: random.Random | None = None) -> None:
        self.config = config if config is not None else KalshiConfig()
        self.normalizer = normalizer if normalizer is not None else KalshiNormalizer(self.config)
        self._signer = signer
        self._signer_from_env = signer is None
        self._environ = environ
        self._rng = rng or random.Random()
        self._next_id = 0
        self._pending: dict[int, dict[str, Any]] = {}
        self._snapshot_sent: dict[tuple[int, str], float] = {}
        self._last_sign_ms = 0
        #: sid -> channel of the current connection
        self.sid_channel: dict[int, str] = {}
        #: successful handshakes so far
        self.connections = 0
        #: frames received, and those that could not be normalized
        self.frames = 0
        self.rejects = 0
        #: handshakes the venue refused in a row
        self.auth_failures = 0

    # ------------------------------------------------------------------ setup

    def _check_config(self) -> None:
        cfg = self.config
        if "orderbook_delta" in cfg.channels and not cfg.tickers:
            raise ConfigError("venues.kalshi: channel 'orderbook_delta' needs market tickers; "
                              "set tickers = [\"...\"] or drop the channel")

    def _resolve_signer(self, reload: bool = False) -> KalshiSigner | None:
        if self._signer is not None and not (reload and self._signer_from_env):
            return self._signer
        cfg = self.config
        if cfg.require_auth or KalshiSigner.available(cfg, self._environ):
            self._signer = KalshiSigner.from_env(cfg, self._environ)
        return self._signer

    def _sign_path(self) -> str:
        return urlsplit(self.config.effective_ws_url).path or WS_SIGN_PATH

    def _handshake_headers(self, signer: KalshiSigner | None, now_ns: int) -> dict[str, str]:
        if signer is None:
            return {}
        # a strictly newer timestamp on every attempt, even with a coarse clock
        ts_ms = max(now_ns // 1_000_000, self._last_sign_ms + 1)
        self._last_sign_ms = ts_ms
        return signer.headers(ts_ms, "GET", self._sign_path())

    def _backoff(self, attempt: int) -> float:
        cfg = self.config
        delay = min(cfg.backoff_max_s, cfg.backoff_initial_s * (2 ** min(attempt, 30)))
        return float(delay * (1.0 + cfg.backoff_jitter * self._rng.random()))

    # ------------------------------------------------------------------ run

    async def run(self, ctx: SourceContext) -> None:
        """Connect, subscribe and stream until cancelled; raises :class:`KalshiAuthError`."""
        self._check_config()
        signer = self._resolve_signer()
        host = urlsplit(self.config.effective_ws_url).netloc
        attempt = 0
        while True:
            frames_before = self.frames
            try:
                await self._session(ctx, signer)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in _AUTH_STATUSES:
                    self.auth_failures += 1
                    ctx.metric("kalshi_auth_failures")
                    if self.auth_failures >= self.config.max_auth_failures:
                        raise KalshiAuthError(
                            f"kalshi: {host} refused authentication (HTTP {status}) "
                            f"{self.auth_failures} time(s) in a row; check "
                            f"{self.config.key_id_env} and {self.config.private_key_path_env} "
                            f"(key id and its private key must match, clock must be in sync)"
                        ) from None
                    log.warning("kalshi: %s refused the handshake (HTTP %d); re-reading the "
                                "key and retrying", host, status)
                    # the key may have been rotated under the same environment variables
                    signer = self._resolve_signer(reload=True)
                else:
                    log.warning("kalshi: %s answered the handshake with HTTP %d", host, status)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                log.warning("kalshi: connection to %s lost: %s", host,
                            str(exc) or type(exc).__name__)
            if self.frames > frames_before:
                attempt = 0  # it worked for a while: start the backoff again
            delay = self._backoff(attempt)
            attempt += 1
            ctx.metric("kalshi_reconnects")
            await asyncio.sleep(delay)

    async def _session(self, ctx: SourceContext, signer: KalshiSigner | None) -> None:
        cfg = self.config
        headers = self._handshake_headers(signer, ctx.clock())
        async with connect(cfg.effective_ws_url, additional_headers=headers or None,
                           ping_interval=cfg.ping_interval_s, ping_timeout=cfg.ping_timeout_s,
                           open_timeout=cfg.open_timeout_s, max_size=cfg.max_frame_bytes,
                           ) as ws:
            self.connections += 1
            self.auth_failures = 0
            self._next_id = 0
            self._pending.clear()
            self._snapshot_sent.clear()
            self.sid_channel.clear()
            log.info("kalshi: connected to %s", urlsplit(cfg.effective_ws_url).netloc)
            for channel in cfg.channels:
                await self._subscribe(ws, ctx, channel)
            stale = False
            while True:
                try:
                    raw = await recv_within(ws, cfg.stale_after_s)
                except TimeoutError:
                    if not stale:
                        stale = True
                        self._emit_stale(ctx)
                    if cfg.reconnect_on_stale:
                        return
                    continue
                stale = False
                await self._handle(ws, ctx, raw)

    # ------------------------------------------------------------------ frames

    async def _handle(self, ws: ClientConnection, ctx: SourceContext, raw: str | bytes) -> None:
        recv_ts = ctx.clock()
        frame = _decode(raw)
        ctx.record_frame(frame, recv_ts)
        ctx.metric("kalshi_frames")
        self.frames += 1
        if isinstance(frame, dict):
            await self._control(ws, ctx, frame)
        try:
            events = self.normalizer.normalize(frame, recv_ts)
        except FrameError as exc:
            self.rejects += 1
            ctx.metric("kalshi_rejects")
            log.warning("kalshi: rejected frame: %s", exc)
            ctx.reject(str(exc), frame)
            return
        if events:
            ctx.emit(events)
        await self._request_snapshots(ws, ctx)

    async def _control(self, ws: ClientConnection, ctx: SourceContext,
                       frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "subscribed":
            ack = frame.get("msg")
            if isinstance(ack, dict) and type(ack.get("sid")) is int:
                self.sid_channel[ack["sid"]] = str(ack.get("channel", ""))
            self._pending.pop(frame.get("id"), None)  # type: ignore[arg-type]
        elif kind == "error":
            raw_msg = frame.get("msg")
            msg: dict[str, Any] = raw_msg if isinstance(raw_msg, dict) else {}
            code = msg.get("code")
            sent = self._pending.pop(frame.get("id"), None)  # type: ignore[arg-type]
            sid = frame.get("sid")
            channel = self.sid_channel.get(sid) if type(sid) is int else None
            if channel is None and sent is not None and sent.get("cmd") == "subscribe":
                channel = sent["params"]["channels"][0]
            log.warning("kalshi: venue error %s: %s (command id %s, sid %s)", code,
                        msg.get("msg"), frame.get("id"), sid)
            ctx.metric("kalshi_venue_errors", code=str(code))
            if code in TERMINAL_ERROR_CODES and channel:
                if type(sid) is int:
                    self.sid_channel.pop(sid, None)
                log.warning("kalshi: subscription to %s is dead (code %s); subscribing again",
                            channel, code)
                await self._subscribe(ws, ctx, channel)

    async def _send(self, ws: ClientConnection, ctx: SourceContext, cmd: str,
                    params: dict[str, Any]) -> int:
        self._next_id += 1
        command = {"id": self._next_id, "cmd": cmd, "params": params}
        self._pending[self._next_id] = command
        await ws.send(orjson.dumps(command).decode())
        # kept in the recording so a replay shows what was asked; the normalizer skips it
        ctx.record_frame({"_kind": "client_command", **command}, ctx.clock())
        return self._next_id

    async def _subscribe(self, ws: ClientConnection, ctx: SourceContext, channel: str) -> None:
        cfg = self.config
        params: dict[str, Any] = {"channels": [channel]}
        if cfg.tickers and channel not in UNFILTERED_CHANNELS:
            params["market_tickers"] = list(cfg.tickers)
        if channel == "orderbook_delta" and cfg.use_yes_price:
            params["use_yes_price"] = True
        await self._send(ws, ctx, "subscribe", params)

    async def _request_snapshots(self, ws: ClientConnection, ctx: SourceContext) -> None:
        requests = self.normalizer.pop_snapshot_requests()
        if not requests:
            return
        now = asyncio.get_running_loop().time()
        retry = self.config.snapshot_retry_s
        for sid, markets in requests:
            due = [m for m in markets if now - self._snapshot_sent.get((sid, m), -retry) >= retry]
            if not due:
                continue
            for m in due:
                self._snapshot_sent[(sid, m)] = now
            log.info("kalshi: asking sid %d for fresh snapshots of %s", sid, ", ".join(due))
            ctx.metric("kalshi_snapshot_requests")
            await self._send(ws, ctx, "update_subscription",
                             {"sids": [sid], "market_tickers": due, "action": "get_snapshot"})

    def _emit_stale(self, ctx: SourceContext) -> None:
        ts = ctx.clock()
        markets = sorted(self.config.tickers) or ["*"]
        events = [MarketEvent(VENUE, m, "feed.stale", ts,
                              extra={"quiet_s": self.config.stale_after_s})
                  for m in markets]
        log.warning("kalshi: no frame for %.1f s", self.config.stale_after_s)
        ctx.metric("kalshi_stale")
        for ev in events:
            ctx.record_event(ev)
        ctx.emit(events)


def _decode(raw: str | bytes) -> Any:
    """The frame as received: the parsed JSON value, or the text when it is not JSON."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


__all__ = ["KalshiLiveSource"]
