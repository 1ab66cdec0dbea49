"""``PolymarketLiveSource``: everything ``flow run``/``flow record`` needs from Polymarket.

It resolves ``market_slugs`` to token ids through Gamma, then runs, on one
normalizer (so dedupe and the token map are shared, and a recording of all
frames replays to the same events):

* the CLOB market channel for the token ids (sharded);
* for wallets, the chain follower when a Polygon RPC URL is in the
  environment and ``chain_follow`` is on, else the RTDS activity feed when
  ``activity_feed`` is on.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import orjson

from horizon_flow_core.components import SourceContext
from horizon_flow_core.errors import ConfigError, FlowError
from horizon_flow_core.logs import redact

from .backoff import Backoff
from .config import PolymarketConfig
from .normalizer import PolymarketNormalizer
from .state import VENUE
from .tokens import TokenMap

log = logging.getLogger("horizon_flow.venue.polymarket")


def fetch_gamma_markets(config: PolymarketConfig, slug: str) -> Any:
    """``GET {gamma_url}/markets?slug=...`` (blocking; run it in a thread)."""
    url = f"{config.gamma_url.rstrip('/')}/markets?{urllib.parse.urlencode({'slug': slug})}"
    request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                   "User-Agent": "horizon-flow"})
    with urllib.request.urlopen(request, timeout=config.open_timeout_s) as response:
        return orjson.loads(response.read())


async def resolve_slugs(config: PolymarketConfig, token_map: TokenMap,
                        attempts: int = 5) -> list[str]:
    """Token ids of ``config.market_slugs`` (in slug order), loading their metadata."""
    tokens: list[str] = []
    for slug in config.market_slugs:
        backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s)
        for attempt in range(1, attempts + 1):
            try:
                payload = await asyncio.to_thread(fetch_gamma_markets, config, slug)
                token_map.load_payload(payload)
                break
            except Exception as exc:
                reason = redact(f"{type(exc).__name__}: {exc}")
                if attempt == attempts:
                    raise FlowError(f"cannot resolve market slug {slug!r} through Gamma: "
                                    f"{reason}") from None
                log.warning("Gamma lookup of %r failed (%s); retrying", slug, reason)
                await asyncio.sleep(backoff.next())
        found = token_map.by_slug(slug)
        if not found:
            raise ConfigError(f"market slug {slug!r}: Gamma knows no market with that slug")
        # keep Gamma's outcome order (Yes/Up first), not the sorted order
        found.sort(key=lambda t: (token_map.get(t).outcome_index or 0))  # type: ignore[union-attr]
        tokens.extend(found)
    return tokens


class PolymarketLiveSource:
    """Market channel plus one identity source, sharing one normalizer."""

    venue = VENUE

    def __init__(self, config: PolymarketConfig, *, normalizer: PolymarketNormalizer | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.normalizer = normalizer or PolymarketNormalizer(config)
        self.environ = dict(environ) if environ is not None else None
        self.token_ids: list[str] = []
        self.sources: list[Any] = []

    def identity_source(self) -> str | None:
        """``"chain"``, ``"activity"`` or None: which wallet source ``run`` will start."""
        if self.config.chain_follow and self.config.rpc_ws_url(self.environ):
            return "chain"
        if self.config.activity_feed:
            return "activity"
        return None

    async def run(self, ctx: SourceContext) -> None:
        from .chain.follow import ChainFollower
        from .market_source import ActivitySource, MarketChannelSource

        tokens = list(dict.fromkeys(self.config.token_ids))
        if self.config.market_slugs:
            resolved = await resolve_slugs(self.config, self.normalizer.token_map)
            tokens.extend(t for t in resolved if t not in tokens)
        self.token_ids = tokens
        identity = self.identity_source()
        if not tokens and identity is None:
            raise ConfigError("[venues.polymarket]: set token_ids or market_slugs (or enable "
                              "an identity source) to run live")
        self.sources = []
        if tokens:
            self.sources.append(MarketChannelSource(self.config, tokens, self.normalizer))
        if identity == "chain":
            url = self.config.rpc_ws_url(self.environ)
            assert url is not None
            self.sources.append(ChainFollower(self.config, url, self.normalizer))
        elif identity == "activity":
            self.sources.append(ActivitySource(self.config, self.normalizer))
        log.info("polymarket live: %d token(s), identity from %s", len(tokens),
                 identity or "nothing")
        async with asyncio.TaskGroup() as tg:
            for source in self.sources:
                tg.create_task(source.run(ctx))
