"""One Kalshi market's book, kept on the YES side.

Kalshi publishes bids only, on both legs. A YES bid at ``p`` is a bid; a NO
bid at ``q`` is a YES ask at ``1 - q`` (unless the subscription asked for
``use_yes_price``, in which case the venue already reports NO levels at the
YES price). ``orderbook_delta`` carries a signed increment to the resting
size at one level; this class turns it into the new level total, which is
what ``book.delta`` events carry.

Prices and sizes are Decimals so sums of increments are exact.
"""

from __future__ import annotations

from decimal import Decimal

from .units import ZERO

Level = tuple[Decimal, Decimal]


class YesBook:
    """YES-side levels of one market: ``bids`` and ``asks`` as ``{price: size}``."""

    __slots__ = ("asks", "bids", "negative_clamps")

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        #: increments that would have made a level negative (clamped to 0); a
        #: non-zero count means the book and the venue disagreed
        self.negative_clamps = 0

    def replace(self, bids: list[Level], asks: list[Level]) -> None:
        """Load a snapshot; repeated prices add up, empty levels are dropped."""
        self.bids = _collect(bids)
        self.asks = _collect(asks)

    def apply(self, is_bid: bool, price: Decimal, increment: Decimal) -> Decimal:
        """Add ``increment`` to the level and return its new total (0 = removed)."""
        levels = self.bids if is_bid else self.asks
        total = levels.get(price, ZERO) + increment
        if total <= ZERO:
            if total < ZERO:
                self.negative_clamps += 1
            levels.pop(price, None)
            return ZERO
        levels[price] = total
        return total

    def best_bid(self) -> Level | None:
        if not self.bids:
            return None
        p = max(self.bids)
        return p, self.bids[p]

    def best_ask(self) -> Level | None:
        if not self.asks:
            return None
        p = min(self.asks)
        return p, self.asks[p]

    def top(self) -> tuple[Level | None, Level | None]:
        return self.best_bid(), self.best_ask()

    def sorted_bids(self) -> list[Level]:
        """Bids best (highest) first."""
        return sorted(self.bids.items(), key=lambda lv: lv[0], reverse=True)

    def sorted_asks(self) -> list[Level]:
        """Asks best (lowest) first."""
        return sorted(self.asks.items(), key=lambda lv: lv[0])


def _collect(levels: list[Level]) -> dict[Decimal, Decimal]:
    out: dict[Decimal, Decimal] = {}
    for price, size in levels:
        out[price] = out.get(price, ZERO) + size
    return {p: s for p, s in out.items() if s > ZERO}
