"""Kalshi venue for horizon-flow.

* :class:`KalshiNormalizer`: WebSocket v2 frames (and REST trade pages) into events.
* :class:`KalshiLiveSource`: the signed, sequence-checked live connection.
* :class:`TradeBackfill` / :func:`backfill_trades`: public trades of one market by REST.
* :class:`KalshiConfig`: the ``[venues.kalshi]`` section.
"""

from __future__ import annotations

from .auth import KalshiAuthError, KalshiSigner
from .config import KalshiConfig
from .live import KalshiLiveSource
from .normalizer import KalshiNormalizer, subaccount_actor
from .rest import KalshiRestError, TradeBackfill, backfill_trades

__all__ = [
    "KalshiAuthError", "KalshiConfig", "KalshiLiveSource", "KalshiNormalizer", "KalshiRestError",
    "KalshiSigner", "TradeBackfill", "backfill_trades", "subaccount_actor",
]
