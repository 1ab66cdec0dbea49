"""horizon-flow venue plugin for Hyperliquid."""

from .config import HyperliquidConfig
from .normalizer import HyperliquidNormalizer

__all__ = ["HyperliquidConfig", "HyperliquidNormalizer"]
