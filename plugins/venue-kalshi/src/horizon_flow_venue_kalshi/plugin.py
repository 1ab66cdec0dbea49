"""Entry point of the Kalshi venue plugin (``horizon_flow`` group, name ``kalshi``)."""

from __future__ import annotations

from typing import Any

from horizon_flow_core.hookspecs import hookimpl
from horizon_flow_core.specs import VenueSpec

from .config import KalshiConfig
from .live import KalshiLiveSource
from .normalizer import KalshiNormalizer

HORIZON_FLOW_PLUGIN_API = 1


def make_normalizer(config: KalshiConfig | None) -> KalshiNormalizer:
    return KalshiNormalizer(config)


def make_live_source(config: KalshiConfig | None) -> KalshiLiveSource:
    return KalshiLiveSource(config)


@hookimpl
def flow_venues() -> list[VenueSpec]:
    return [VenueSpec(
        name="kalshi",
        make_normalizer=make_normalizer,
        config_class=KalshiConfig,
        make_live_source=make_live_source,
        description="Kalshi trade-api v2: signed WebSocket with sequence-checked books, "
                    "REST trade backfill",
    )]


@hookimpl
def flow_commands(app: Any) -> None:
    from .cli import register

    register(app)
