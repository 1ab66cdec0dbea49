"""A seeded synthetic market feed with planted abuse episodes (``flow demo``, tests, benchmarks).

:func:`generate` returns a :class:`Scenario`: a realistic normalized feed
over several markets (prediction markets priced as probabilities and a
crypto perp) with ordinary market makers, small and directional traders,
and planted episodes of every built-in category, with the ground truth of
each episode. :func:`generate_stream` makes millions of events lazily for
benchmarks; :func:`write_feed` writes the pinned JSON Lines feed log.

Only the standard library's ``random.Random(seed)`` drives it: the same
arguments give the same events, byte for byte.
"""

from __future__ import annotations

from .episodes import CATEGORIES
from .feed import write_feed
from .generator import DEFAULT_START_TS, SyntheticStream, generate, generate_stream
from .model import SYNTHETIC_VENUE, Episode, MarketSpec, Scenario, default_markets
from .scoring import EpisodeMatch, Score, score_findings

__all__ = [
    "CATEGORIES", "DEFAULT_START_TS", "SYNTHETIC_VENUE", "Episode", "EpisodeMatch",
    "MarketSpec", "Scenario", "Score", "SyntheticStream", "default_markets", "generate",
    "generate_stream", "score_findings", "write_feed",
]
