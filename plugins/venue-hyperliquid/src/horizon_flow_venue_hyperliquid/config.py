"""``[venues.hyperliquid]``: where to connect, what to follow, how patient to be.

URLs default from the environment (``HYPERLIQUID_WS_URL``,
``HYPERLIQUID_API_URL``) so deployments point at a node or a proxy without a
config change; no secret is needed by this venue (every stream is public).
"""

from __future__ import annotations

import os
from typing import Any, Final

import attrs

DEFAULT_WS_URL: Final = "wss://api.hyperliquid.xyz/ws"
DEFAULT_API_URL: Final = "https://api.hyperliquid.xyz"

# The venue's per-IP allowances (API docs, "Rate limits and user limits").
VENUE_MAX_SUBSCRIPTIONS: Final = 1000
VENUE_MAX_USERS: Final = 10
VENUE_IDLE_LIMIT_S: Final = 60.0

MARKET_CHANNELS: Final = frozenset({"trades", "l2Book", "bbo"})
WALLET_CHANNELS: Final = frozenset({"orderUpdates", "userFills", "userEvents"})


def _default_ws_url() -> str:
    return os.environ.get("HYPERLIQUID_WS_URL") or DEFAULT_WS_URL


def _default_info_url() -> str:
    base = (os.environ.get("HYPERLIQUID_API_URL") or DEFAULT_API_URL).rstrip("/")
    return base if base.endswith("/info") else base + "/info"


def _str_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _wallets(value: Any) -> tuple[str, ...]:
    # Wallet addresses are compared everywhere in lower case (the venue mixes cases).
    out: list[str] = []
    for w in _str_tuple(value):
        w = w.strip().lower()
        if w and w not in out:
            out.append(w)
    return tuple(out)


def _url(schemes: tuple[str, ...]) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
        if not value.startswith(schemes):
            raise ValueError(f"{attribute.name}: expected a URL starting with "
                             f"{' or '.join(schemes)}, got {value!r}")
    return check


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name}: must be > 0, got {value!r}")


def _channels(allowed: frozenset[str]) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[tuple[str, ...]],
              value: tuple[str, ...]) -> None:
        bad = [c for c in value if c not in allowed]
        if bad:
            raise ValueError(f"{attribute.name}: unknown channel(s) {bad}; "
                             f"expected some of {sorted(allowed)}")
    return check


@attrs.frozen
class HyperliquidConfig:
    """Settings of the Hyperliquid venue (normalizer and live source)."""

    #: WebSocket endpoint (env ``HYPERLIQUID_WS_URL``).
    ws_url: str = attrs.field(factory=_default_ws_url, validator=_url(("ws://", "wss://")))
    #: Info endpoint for ``meta`` (env ``HYPERLIQUID_API_URL`` + ``/info``).
    info_url: str = attrs.field(factory=_default_info_url,
                                validator=_url(("http://", "https://")))
    #: Coins to follow; empty = every perp listed by the info endpoint's ``meta``.
    coins: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    #: Watch-list of wallets whose orders and fills are followed (lower-cased).
    wallets: tuple[str, ...] = attrs.field(default=(), converter=_wallets)
    #: Per-coin subscriptions.
    channels: tuple[str, ...] = attrs.field(default=("trades", "l2Book", "bbo"),
                                            converter=_str_tuple,
                                            validator=_channels(MARKET_CHANNELS))
    #: Per-wallet subscriptions (each wallet gets its own connection, see the README).
    wallet_channels: tuple[str, ...] = attrs.field(default=("orderUpdates", "userFills"),
                                                   converter=_str_tuple,
                                                   validator=_channels(WALLET_CHANNELS))
    #: Subscriptions this process may hold in total (the venue allows 1000 per IP).
    subscription_cap: int = attrs.field(default=VENUE_MAX_SUBSCRIPTIONS, validator=_positive)
    #: Subscriptions put on one market-data connection.
    max_subscriptions_per_connection: int = attrs.field(default=250, validator=_positive)
    #: Connections this process may open at once.
    max_connections: int = attrs.field(default=10, validator=_positive)
    #: Distinct wallets in user subscriptions (the venue allows 10 per IP).
    max_users: int = attrs.field(default=VENUE_MAX_USERS, validator=_positive)
    #: Seconds between ``{"method":"ping"}`` (the venue drops a connection idle 60 s).
    ping_interval_s: float = attrs.field(default=50.0, validator=_positive)
    #: Seconds to wait for any frame after a ping before the connection counts as dead.
    pong_timeout_s: float = attrs.field(default=10.0, validator=_positive)
    #: A subscribed stream quiet this long is reported once as ``feed.stale``.
    stale_after_s: float = attrs.field(default=60.0, validator=_positive)
    #: Channels whose silence is reported (trades and user streams are quiet by nature).
    stale_channels: tuple[str, ...] = attrs.field(
        default=("l2Book",), converter=_str_tuple,
        validator=_channels(MARKET_CHANNELS | WALLET_CHANNELS))
    #: Reconnect backoff: first delay, cap, multiplier (each delay then gets jitter).
    reconnect_min_s: float = attrs.field(default=0.5, validator=_positive)
    reconnect_max_s: float = attrs.field(default=30.0, validator=_positive)
    reconnect_factor: float = attrs.field(default=2.0, validator=_positive)
    #: Seed of the reconnect jitter (negative = seeded from the OS; tests fix it).
    #: Jitter changes only when reconnects happen, never what events say.
    jitter_seed: int = -1
    #: Opening handshake and info request timeouts.
    connect_timeout_s: float = attrs.field(default=10.0, validator=_positive)
    info_timeout_s: float = attrs.field(default=10.0, validator=_positive)
    #: Trade/fill keys remembered to drop repeats (snapshots on resubscribe, overlaps).
    dedupe_window: int = attrs.field(default=100_000, validator=_positive)
    #: Orders whose state is kept to infer cancels, amends and fill sizes.
    max_tracked_orders: int = attrs.field(default=200_000, validator=_positive)
    #: ``order.filled`` from a ``filled`` order status, for wallets whose fills no fill
    #: stream (``userFills``, ``user``, node fills) has reported so far.
    fills_from_status: bool = True
    #: Also derive ``quote.update`` from each ``l2Book`` top of book (off: ``bbo`` gives them).
    quotes_from_l2book: bool = False
    #: Largest frame accepted, bytes (a wallet's ``userFills`` snapshot can be megabytes).
    max_frame_bytes: int = attrs.field(default=32 * 1024 * 1024, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError(f"reconnect_max_s ({self.reconnect_max_s}) must be >= "
                             f"reconnect_min_s ({self.reconnect_min_s})")
        if self.reconnect_factor < 1:
            raise ValueError(f"reconnect_factor must be >= 1, got {self.reconnect_factor}")
        if self.ping_interval_s >= VENUE_IDLE_LIMIT_S:
            raise ValueError(f"ping_interval_s must be under the venue's {VENUE_IDLE_LIMIT_S:g} s "
                             f"idle limit, got {self.ping_interval_s}")
