"""Entry point: registers the ``hyperliquid`` venue with horizon-flow."""

from __future__ import annotations

from horizon_flow_core.hookspecs import hookimpl
from horizon_flow_core.specs import VenueSpec

from .config import HyperliquidConfig
from .normalizer import HyperliquidNormalizer
from .source import HyperliquidSource

HORIZON_FLOW_PLUGIN_API = 1


def make_normalizer(config: HyperliquidConfig | None) -> HyperliquidNormalizer:
    return HyperliquidNormalizer(config)


def make_live_source(config: HyperliquidConfig | None) -> HyperliquidSource:
    return HyperliquidSource(config)


@hookimpl
def flow_venues() -> list[VenueSpec]:
    return [VenueSpec(
        name="hyperliquid",
        make_normalizer=make_normalizer,
        config_class=HyperliquidConfig,
        make_live_source=make_live_source,
        description="Hyperliquid: WebSocket, info endpoint, node files and S3 archive, "
                    "with wallet identity; live source with reconnects, gaps and staleness",
    )]
