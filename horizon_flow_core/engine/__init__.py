"""The engine loop and what it keeps per market."""

from .book import L2Book
from .builder import build_engine
from .context import EngineContext
from .engine import FlowEngine

__all__ = ["EngineContext", "FlowEngine", "L2Book", "build_engine"]
