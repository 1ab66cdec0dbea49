"""``[venues.kalshi]``: where to connect, what to subscribe to, and how patiently.

The API key id and the private key path are never read from config: they
come from the environment variables named by ``key_id_env`` and
``private_key_path_env`` (``KALSHI_API_KEY_ID`` and ``KALSHI_PRIVATE_KEY_PATH``
by default).

Example::

    [venues.kalshi]
    environment = "demo"
    tickers = ["KXBTCD-26FEB1217-T67749.99"]
    channels = ["orderbook_delta", "trade", "ticker", "fill", "user_orders"]
    stale_after_s = 30
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

import attrs

HOSTS: Final[dict[str, tuple[str, str]]] = {
    # environment: (WebSocket URL, REST base URL)
    "production": ("wss://external-api-ws.kalshi.com/trade-api/ws/v2",
                   "https://external-api.kalshi.com/trade-api/v2"),
    "demo": ("wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
             "https://external-api.demo.kalshi.co/trade-api/v2"),
}

#: Channels the subscribe command accepts that this plugin turns into events
#: or market status. (``user_orders`` is the channel; its frames are typed
#: ``user_order``.)
CHANNELS: Final[frozenset[str]] = frozenset({
    "orderbook_delta", "ticker", "ticker_v2", "trade", "fill", "user_orders",
    "market_lifecycle_v2", "multivariate_market_lifecycle", "market_positions",
    "order_group_updates", "communications",
})
#: Channels that take no market filter (the server refuses or ignores one).
UNFILTERED_CHANNELS: Final[frozenset[str]] = frozenset({
    "market_lifecycle_v2", "multivariate_market_lifecycle", "communications",
    "order_group_updates",
})


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _non_negative(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _fraction(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be in [0, 1], got {value!r}")


def _url(schemes: tuple[str, ...]) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
        if value and urlsplit(value).scheme not in schemes:
            raise ValueError(f"{attribute.name} must be a {' or '.join(schemes)} URL, "
                             f"got {value!r}")
    return check


def _names(instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    # TOML `tickers = "KXA"` reaches us split into characters by the structurer
    if value and all(isinstance(v, str) and len(v) == 1 for v in value):
        raise ValueError(f"{attribute.name}: expected a list of names, like [\"{''.join(value)}\"]"
                         ", got a single string")
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{attribute.name}: expected non-empty strings, got {list(value)!r}")


def _channels(instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    _names(instance, attribute, value)
    unknown = sorted(set(value) - CHANNELS)
    if unknown:
        raise ValueError(f"{attribute.name}: unknown channel(s) {', '.join(unknown)}; "
                         f"expected some of {', '.join(sorted(CHANNELS))}")


def _tuple_of_str(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@attrs.frozen
class KalshiConfig:
    """Settings of the Kalshi venue. Every field has a default."""

    #: ``production`` or ``demo`` (``*.demo.kalshi.co``); picks both hosts
    environment: str = attrs.field(
        default="production", validator=attrs.validators.in_(tuple(HOSTS)))
    #: explicit WebSocket URL, overriding the environment's host
    ws_url: str = attrs.field(default="", validator=_url(("ws", "wss")))
    #: explicit REST base URL (up to and including ``/trade-api/v2``)
    rest_url: str = attrs.field(default="", validator=_url(("http", "https")))
    #: market tickers to subscribe to (required by ``orderbook_delta``)
    tickers: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str, validator=_names)
    #: channels to subscribe to, one subscription each
    channels: tuple[str, ...] = attrs.field(
        default=("orderbook_delta", "trade", "ticker", "market_lifecycle_v2"),
        converter=_tuple_of_str, validator=_channels)
    #: ask the venue to quote NO book levels at the YES price (its ``use_yes_price``
    #: flag); must match how a recording was made for a scan to read it right
    use_yes_price: bool = False
    #: sign the handshake (the current API requires it even for public channels)
    require_auth: bool = True
    #: environment variable holding the API key id
    key_id_env: str = "KALSHI_API_KEY_ID"
    #: environment variable holding the path of the PEM private key
    private_key_path_env: str = "KALSHI_PRIVATE_KEY_PATH"
    #: consecutive refused handshakes (HTTP 401/403) before giving up with an error
    max_auth_failures: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    #: client-side WebSocket pings (the server also pings every 10 s; pongs are automatic)
    ping_interval_s: float = attrs.field(default=20.0, validator=_positive)
    ping_timeout_s: float = attrs.field(default=20.0, validator=_positive)
    open_timeout_s: float = attrs.field(default=10.0, validator=_positive)
    #: quiet this long (no frame) -> one ``feed.stale`` event per quiet spell
    stale_after_s: float = attrs.field(default=60.0, validator=_positive)
    #: also drop and re-open the connection after a stale spell
    reconnect_on_stale: bool = False
    backoff_initial_s: float = attrs.field(default=0.5, validator=_positive)
    backoff_max_s: float = attrs.field(default=30.0, validator=_positive)
    #: random extra delay, as a fraction of the backoff delay
    backoff_jitter: float = attrs.field(default=0.25, validator=_fraction)
    #: a snapshot request not answered within this long is sent again
    snapshot_retry_s: float = attrs.field(default=5.0, validator=_positive)
    max_frame_bytes: int = attrs.field(default=16 * 1024 * 1024,
                                       validator=attrs.validators.ge(1024))
    #: emit ``quote.update`` when the top of the YES book changes
    book_quotes: bool = True
    #: emit ``feed.gap`` for per-subscription ``seq`` gaps on the trade channel
    trade_gap_events: bool = True
    #: remember this many trade ids to drop repeats (REST backfill overlapping live); 0 = off
    trade_dedupe_window: int = attrs.field(default=100_000, validator=attrs.validators.ge(0))
    #: REST page size (the venue allows 1..1000)
    rest_page_limit: int = attrs.field(
        default=1000, validator=[attrs.validators.ge(1), attrs.validators.le(1000)])
    rest_timeout_s: float = attrs.field(default=10.0, validator=_positive)
    #: safety stop for one backfill
    rest_max_pages: int = attrs.field(default=100_000, validator=attrs.validators.ge(1))
    #: retries of one REST page on HTTP 429/5xx or a network error
    rest_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))

    def __attrs_post_init__(self) -> None:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError(f"backoff_max_s ({self.backoff_max_s}) must be >= "
                             f"backoff_initial_s ({self.backoff_initial_s})")

    @property
    def effective_ws_url(self) -> str:
        return self.ws_url or HOSTS[self.environment][0]

    @property
    def effective_rest_url(self) -> str:
        return (self.rest_url or HOSTS[self.environment][1]).rstrip("/")


__all__ = ["CHANNELS", "HOSTS", "KalshiConfig"]
