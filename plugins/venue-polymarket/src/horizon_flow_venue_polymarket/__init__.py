"""horizon-flow venue plugin for Polymarket.

Public names are imported on first use so that importing the package (as
``flow plugins list`` does) never pulls in web3 or websockets.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "PolymarketConfig": "config",
    "PolymarketNormalizer": "normalizer",
    "TokenMap": "tokens",
    "TokenInfo": "tokens",
    "PolymarketLiveSource": "live",
    "MarketChannelSource": "market_source",
    "ActivitySource": "market_source",
    "ChainBackfill": "chain.backfill",
    "ChainFollower": "chain.follow",
    "decode_log": "chain.decode",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = sorted(_LAZY)
