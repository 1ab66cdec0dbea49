"""The seven built-in detectors, one module each."""

from __future__ import annotations

from .iceberg import IcebergConfig, IcebergDetector
from .layering import LayeringConfig, LayeringDetector
from .momentum_ignition import MomentumIgnitionConfig, MomentumIgnitionDetector
from .quote_stuffing import QuoteStuffingConfig, QuoteStuffingDetector
from .split_order import SplitOrderConfig, SplitOrderDetector
from .spoofing import SpoofingConfig, SpoofingDetector
from .wash_trade import WashTradeConfig, WashTradeDetector

__all__ = [
    "IcebergConfig", "IcebergDetector", "LayeringConfig", "LayeringDetector",
    "MomentumIgnitionConfig", "MomentumIgnitionDetector", "QuoteStuffingConfig",
    "QuoteStuffingDetector", "SplitOrderConfig", "SplitOrderDetector", "SpoofingConfig",
    "SpoofingDetector", "WashTradeConfig", "WashTradeDetector",
]
