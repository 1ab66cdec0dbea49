"""Live sources over Polymarket WebSockets: the sharded market channel and RTDS activity."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from horizon_flow_core.components import SourceContext

from .config import PolymarketConfig
from .normalizer import PolymarketNormalizer
from .state import VENUE
from .wsfeed import ActivityFeed, MarketChannelFeed


def shard(token_ids: Sequence[str], size: int) -> list[list[str]]:
    """Token ids in connection-sized groups, in the configured order, duplicates dropped."""
    unique = list(dict.fromkeys(token_ids))
    return [unique[i:i + size] for i in range(0, len(unique), size)]


class MarketChannelSource:
    """The CLOB market channel for ``token_ids``, over ``ceil(n / shard_size)`` connections."""

    venue = VENUE

    def __init__(self, config: PolymarketConfig, token_ids: Sequence[str],
                 normalizer: PolymarketNormalizer | None = None) -> None:
        if not token_ids:
            raise ValueError("the market channel needs at least one token id")
        self.config = config
        self.normalizer = normalizer or PolymarketNormalizer(config)
        self.feeds = [
            MarketChannelFeed(
                url=config.ws_url, normalizer=self.normalizer, markets=group,
                label=f"shard{i}", ping_interval_s=config.ping_interval_s,
                stale_after_s=config.stale_after_s, open_timeout_s=config.open_timeout_s,
                reconnect_initial_s=config.reconnect_initial_s,
                reconnect_max_s=config.reconnect_max_s,
                custom_feature_enabled=config.custom_feature_enabled)
            for i, group in enumerate(shard(token_ids, config.shard_size))
        ]

    async def run(self, ctx: SourceContext) -> None:
        async with asyncio.TaskGroup() as tg:
            for feed in self.feeds:
                tg.create_task(feed.run(ctx))


class ActivitySource:
    """RTDS ``activity/trades`` (wallets without an RPC), filtered by market slug."""

    venue = VENUE

    def __init__(self, config: PolymarketConfig, normalizer: PolymarketNormalizer | None = None
                 ) -> None:
        self.config = config
        self.normalizer = normalizer or PolymarketNormalizer(config)
        # markets=[]: a lost activity connection loses wallet fills, not book state,
        # so its gaps go to "feed:activity" rather than to each token's book.
        self.feed = ActivityFeed(
            url=config.rtds_url, normalizer=self.normalizer, markets=[],
            label="rtds", ping_interval_s=config.ping_interval_s,
            stale_after_s=config.stale_after_s, open_timeout_s=config.open_timeout_s,
            reconnect_initial_s=config.reconnect_initial_s,
            reconnect_max_s=config.reconnect_max_s, market_slugs=config.market_slugs)

    async def run(self, ctx: SourceContext) -> None:
        await self.feed.run(ctx)
