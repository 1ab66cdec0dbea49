"""Entry point ``polymarket``: registers the Polymarket venue.

Importing this module must stay cheap: ``flow plugins list`` imports every
plugin. web3 and websockets are imported only when a live source runs.
"""

from __future__ import annotations

from typing import Any

from horizon_flow_core.hookspecs import hookimpl
from horizon_flow_core.specs import VenueSpec

from .config import PolymarketConfig
from .normalizer import make_normalizer

HORIZON_FLOW_PLUGIN_API = 1


def make_live_source(config: PolymarketConfig | None) -> Any:
    """The ``VenueSpec.make_live_source`` factory (market channel plus identity feeds)."""
    from .live import PolymarketLiveSource

    return PolymarketLiveSource(config or PolymarketConfig())


@hookimpl
def flow_commands(app: Any) -> None:
    from .cli import register

    register(app)


@hookimpl
def flow_venues() -> list[VenueSpec]:
    return [VenueSpec(
        name="polymarket",
        make_normalizer=make_normalizer,
        config_class=PolymarketConfig,
        make_live_source=make_live_source,
        description="Polymarket CLOB market/user channels, RTDS activity and CTF Exchange "
                    "OrderFilled logs (wallets) on Polygon",
    )]
