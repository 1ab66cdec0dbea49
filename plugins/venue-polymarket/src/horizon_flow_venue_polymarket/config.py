"""``[venues.polymarket]``: what to watch, where to connect, how patiently.

Secrets never live here: the Polygon RPC URL (it carries the provider's API
key) is read from the environment variable *named* by ``rpc_url_env``
(``POLYGON_RPC_URL``); a WebSocket URL for the live log subscription from
``rpc_ws_url_env`` (``POLYGON_WS_URL``), else derived from the RPC URL
(``https://`` -> ``wss://``, which is how Alchemy, Infura and QuickNode serve
both).
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from .chain.contracts import (
    CTF_EXCHANGE_V1,
    CTF_EXCHANGE_V2,
    NEG_RISK_CTF_EXCHANGE_V1,
    NEG_RISK_CTF_EXCHANGE_V2,
)


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _at_least(minimum: int) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
        if value < minimum:
            raise ValueError(f"{attribute.name} must be >= {minimum}, got {value!r}")
    return check


def _ws_url(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.startswith(("ws://", "wss://")):
        raise ValueError(f"{attribute.name} must be a ws:// or wss:// URL, got {value!r}")


def _http_url(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{attribute.name} must be an http:// or https:// URL, got {value!r}")


def _addresses(instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for a in value:
        if not (isinstance(a, str) and len(a) == 42 and a.startswith("0x")):
            raise ValueError(f"{attribute.name}: not a 0x-prefixed 20-byte address: {a!r}")
        int(a, 16)


def _tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@attrs.frozen
class PolymarketConfig:
    """Settings of the Polymarket venue. Every field has a default."""

    # -- what to watch -----------------------------------------------------------
    #: CLOB token ids (``asset_id``) to subscribe to on the market channel.
    token_ids: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    #: Market slugs; resolved to token ids through Gamma at start, and used as
    #: RTDS ``market_slug`` filters for the activity feed.
    market_slugs: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    #: A saved CLOB ``/markets`` or Gamma response (JSON or JSON Lines) giving
    #: condition id, outcome and slug per token, for ``extra`` (scan and live).
    token_map_file: str = ""

    # -- endpoints ---------------------------------------------------------------
    ws_url: str = attrs.field(default="wss://ws-subscriptions-clob.polymarket.com/ws/market",
                              validator=_ws_url)
    rtds_url: str = attrs.field(default="wss://ws-live-data.polymarket.com", validator=_ws_url)
    gamma_url: str = attrs.field(default="https://gamma-api.polymarket.com", validator=_http_url)
    custom_feature_enabled: bool = True

    # -- market channel connection ----------------------------------------------
    #: Assets per WebSocket connection (~500 is the practical limit).
    shard_size: int = attrs.field(default=500, validator=_at_least(1))
    ping_interval_s: float = attrs.field(default=10.0, validator=_positive)
    #: No frame for this long -> ``feed.stale``, then reconnect and resubscribe.
    stale_after_s: float = attrs.field(default=30.0, validator=_positive)
    open_timeout_s: float = attrs.field(default=10.0, validator=_positive)
    reconnect_initial_s: float = attrs.field(default=0.5, validator=_positive)
    reconnect_max_s: float = attrs.field(default=30.0, validator=_positive)
    #: Dedupe window (book/price-change hashes, chain logs).
    dedupe_capacity: int = attrs.field(default=200_000, validator=_at_least(1))

    # -- identity sources ------------------------------------------------------------
    #: Follow CTF Exchange logs live when an RPC URL is configured.
    chain_follow: bool = True
    #: Use RTDS ``activity/trades`` for wallets when no RPC URL is configured.
    activity_feed: bool = True
    #: Look up gas price and nonce of each fill's transaction (one RPC call per tx).
    enrich_on_chain: bool = False
    rpc_url_env: str = "POLYGON_RPC_URL"
    rpc_ws_url_env: str = "POLYGON_WS_URL"
    #: Blocks per ``eth_getLogs`` call; shrunk on "range too large" answers.
    log_chunk_blocks: int = attrs.field(default=2_000, validator=_at_least(1))
    min_log_chunk_blocks: int = attrs.field(default=1, validator=_at_least(1))
    rpc_timeout_s: float = attrs.field(default=20.0, validator=_positive)
    rpc_max_attempts: int = attrs.field(default=8, validator=_at_least(1))
    rpc_backoff_initial_s: float = attrs.field(default=0.5, validator=_positive)
    rpc_backoff_max_s: float = attrs.field(default=30.0, validator=_positive)
    block_cache_size: int = attrs.field(default=4_096, validator=_at_least(1))
    #: Exchange contracts whose logs are decoded (V1 and V2, each with a neg-risk twin).
    exchange_addresses_v1: tuple[str, ...] = attrs.field(
        default=(CTF_EXCHANGE_V1, NEG_RISK_CTF_EXCHANGE_V1), converter=_tuple,
        validator=_addresses)
    exchange_addresses_v2: tuple[str, ...] = attrs.field(
        default=(CTF_EXCHANGE_V2, NEG_RISK_CTF_EXCHANGE_V2), converter=_tuple,
        validator=_addresses)
    neg_risk_addresses: tuple[str, ...] = attrs.field(
        default=(NEG_RISK_CTF_EXCHANGE_V1, NEG_RISK_CTF_EXCHANGE_V2), converter=_tuple,
        validator=_addresses)

    def __attrs_post_init__(self) -> None:
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must be >= reconnect_initial_s")
        if self.min_log_chunk_blocks > self.log_chunk_blocks:
            raise ValueError("min_log_chunk_blocks must be <= log_chunk_blocks")

    # -- secrets from the environment ----------------------------------------------
    def rpc_url(self, environ: dict[str, str] | None = None) -> str | None:
        """The Polygon JSON-RPC URL from ``$POLYGON_RPC_URL`` (never logged)."""
        env = os.environ if environ is None else environ
        return env.get(self.rpc_url_env) or None

    def rpc_ws_url(self, environ: dict[str, str] | None = None) -> str | None:
        """WebSocket JSON-RPC URL for the live log subscription, or None."""
        env = os.environ if environ is None else environ
        explicit = env.get(self.rpc_ws_url_env)
        if explicit:
            return explicit
        url = self.rpc_url(environ)
        if not url:
            return None
        if url.startswith(("ws://", "wss://")):
            return url
        if url.startswith("https://"):
            return "wss://" + url[len("https://"):]
        if url.startswith("http://"):
            return "ws://" + url[len("http://"):]
        return None
