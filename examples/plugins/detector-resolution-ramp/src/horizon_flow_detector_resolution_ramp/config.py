"""``[detectors.resolution_ramp]``: when a late ramp counts as marking the close.

Prices are probabilities (0 to 1), so moves and trends are in probability
points: ``min_price_move = 0.05`` is five cents on a one-dollar contract.
"""

from __future__ import annotations

from typing import Any

import attrs

from .closes import parse_iso


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value}")


def _share(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 < value <= 1:
        raise ValueError(f"{attribute.name} must be in (0, 1], got {value}")


def _probability_points(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{attribute.name} must be in (0, 1) probability points, got {value}")


def _at_least_two(instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 2:
        raise ValueError(f"{attribute.name} must be >= 2, got {value}")


def _closes(instance: Any, attribute: attrs.Attribute[Any], value: dict[str, str]) -> None:
    for market, text in sorted(value.items()):
        try:
            parse_iso(text)
        except ValueError as exc:
            raise ValueError(f"closes.{market}: {exc}") from None


@attrs.frozen
class ResolutionRampConfig:
    """Thresholds of the resolution-ramp detector; every one has a default."""

    #: market_id -> close or resolution time, ISO 8601 with a zone; wins over event data
    closes: dict[str, str] = attrs.field(factory=dict, validator=_closes)
    #: also take close times from event ``extra`` (close_ts, end_date, resolved_ts...)
    learn_closes_from_events: bool = True
    #: the ramp window: this many seconds before the close
    window_s: float = attrs.field(default=600.0, validator=_positive)
    #: the prior trend is measured over this many seconds before the window
    trend_s: float = attrs.field(default=3600.0, validator=_positive)
    #: prints needed in the trend period and in the window to judge at all
    min_trend_prints: int = attrs.field(default=6, validator=_at_least_two)
    min_window_prints: int = attrs.field(default=3, validator=_at_least_two)
    #: a prior trend smaller than this (probability points) is flat: nothing to go against
    min_prior_trend: float = attrs.field(default=0.02, validator=_probability_points)
    #: the late move against the trend must be at least this large
    min_price_move: float = attrs.field(default=0.05, validator=_probability_points)
    #: window volume (contracts) below this is too thin to matter
    min_window_volume: float = attrs.field(default=500.0, validator=_positive)
    #: share of window volume that must have aggressed in the move's direction
    min_aggressive_share: float = attrs.field(default=0.65, validator=_share)
    #: an actor with this share of that aggressive volume is named on the finding
    min_actor_share: float = attrs.field(default=0.5, validator=_share)
    #: prints kept per market (memory bound on very active markets)
    max_prints_per_market: int = attrs.field(default=20_000, validator=_positive)
