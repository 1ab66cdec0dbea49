"""horizon-flow venue plugin for Hyperliquid."""

from .config import HyperliquidConfig
from .normalizer import HyperliquidNormalizer
from .source import HyperliquidSource

__all__ = ["HyperliquidConfig", "HyperliquidNormalizer", "HyperliquidSource"]
