"""Records of the synthetic feed: market specs, planted episodes, the scenario."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

import attrs

from ..events import MarketEvent

#: Venue name of every synthetic event: nobody should mistake it for real data.
SYNTHETIC_VENUE: Final = "synthetic"

PREDICTION: Final = "prediction"
CRYPTO: Final = "crypto"


@attrs.frozen
class MarketSpec:
    """One simulated market.

    Prices move on a grid of ``tick``; prediction markets are probabilities
    kept within ``[min_price, max_price]`` inside (0, 1). ``quote_size`` is a
    market maker's typical size per level, in the market's size units (shares
    or coins); every other size in the simulation scales with it.
    """

    market_id: str
    kind: str = PREDICTION
    tick: float = 0.01
    decimals: int = 2
    start_price: float = 0.5
    min_price: float = 0.02
    max_price: float = 0.98
    quote_size: float = 150.0
    #: standard deviation of the fair value's step, in ticks, every few seconds
    volatility_ticks: float = 0.35
    #: a market maker's half spread, and the gap between its quote levels, in ticks
    spread_ticks: int = 1
    level_gap_ticks: int = 1
    venue: str = SYNTHETIC_VENUE

    def ticks(self, price: float) -> int:
        return int(round(price / self.tick))

    def price(self, ticks: int) -> float:
        return round(ticks * self.tick, self.decimals)

    @property
    def min_ticks(self) -> int:
        return self.ticks(self.min_price)

    @property
    def max_ticks(self) -> int:
        return self.ticks(self.max_price)


_PREDICTION_NAMES: Final = (
    "pm-fed-cut-december", "pm-election-turnout-60", "pm-btc-above-150k", "pm-rain-nyc-friday",
    "pm-oscars-best-picture", "pm-gdp-above-2pct", "pm-cpi-below-3pct", "pm-worldcup-final",
)


def default_markets(n: int = 4) -> tuple[MarketSpec, ...]:
    """``n`` markets: prediction markets at various probabilities, every fourth a crypto perp."""
    out: list[MarketSpec] = []
    for i in range(n):
        if i % 4 == 3:
            k = i // 4
            out.append(MarketSpec(
                market_id="HYPE" if k == 0 else f"COIN{k:03d}", kind=CRYPTO, tick=0.001,
                decimals=3, start_price=24.5 + 3.0 * (k % 5), min_price=1.0, max_price=1000.0,
                quote_size=120.0, volatility_ticks=4.0, spread_ticks=6, level_gap_ticks=3))
            continue
        j = i - i // 4
        name = (_PREDICTION_NAMES[j] if j < len(_PREDICTION_NAMES)
                else f"pm-market-{j:04d}")
        start = (0.18, 0.52, 0.71, 0.35, 0.64, 0.27, 0.83, 0.45)[j % 8]
        out.append(MarketSpec(market_id=name, start_price=start))
    return tuple(out)


@attrs.frozen
class Episode:
    """One planted episode: the ground truth a detector should catch.

    ``start_ts``/``end_ts`` bound the episode's own events; ``actor_ids`` are
    the abusers (for a wash-trade ring, every wallet of the ring).
    """

    episode_id: str
    category: str
    market_id: str
    actor_ids: tuple[str, ...]
    start_ts: int
    end_ts: int
    description: str
    venue: str = SYNTHETIC_VENUE
    details: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"episode_id": self.episode_id, "category": self.category,
                "venue": self.venue, "market_id": self.market_id,
                "actor_ids": list(self.actor_ids), "start_ts": self.start_ts,
                "end_ts": self.end_ts, "description": self.description,
                "details": dict(self.details)}


@attrs.frozen
class Scenario:
    """A generated feed with its ground truth.

    ``events`` are in time order (ties in emission order, which ``seq``
    numbers); ``roles`` maps every actor to what it was scripted as
    (``market_maker``, ``small``, ``directional``, or the episode category
    it abused with).
    """

    seed: int
    events: list[MarketEvent]
    episodes: list[Episode]
    markets: tuple[MarketSpec, ...]
    roles: dict[str, str]
    start_ts: int
    end_ts: int

    def __iter__(self) -> Iterator[MarketEvent]:
        return iter(self.events)

    def episodes_of(self, category: str) -> Sequence[Episode]:
        return [e for e in self.episodes if e.category == category]
