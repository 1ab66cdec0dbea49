"""State one normalizer keeps across frames: token map, dedupe window, market status.

The frame handlers in :mod:`market_channel`, :mod:`user_channel`,
:mod:`activity` and :mod:`chain.fills` are functions of (frame, state); the
state is what makes the same frames in the same order give the same events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import attrs

from horizon_flow_core.events import MarketEvent

from .chain.contracts import Exchange
from .lru import BoundedDict, SeenKeys
from .tokens import TokenMap

VENUE = "polymarket"


@attrs.define
class MarketStatus:
    """Latest non-price facts about one token, from frames that carry no market event.

    ``tick_size_change``, ``new_market`` and ``market_resolved`` update it; it is
    observable as ``PolymarketNormalizer.market_status[token_id]`` and each
    change is counted in ``PolymarketNormalizer.counters``.
    """

    token_id: str
    condition_id: str | None = None
    tick_size: float | None = None
    tick_size_ts: int | None = None
    listed_ts: int | None = None
    resolved: bool = False
    resolved_ts: int | None = None
    winner: bool | None = None
    winning_outcome: str | None = None


@attrs.define
class NormalizerState:
    token_map: TokenMap
    exchanges: Mapping[str, Exchange]
    seen: SeenKeys
    block_timestamps: Mapping[int, int]
    market_status: dict[str, MarketStatus] = attrs.field(factory=dict)
    trade_status: BoundedDict[tuple[str, str], Any] = attrs.field(
        factory=lambda: BoundedDict(100_000))
    #: tx hash -> time of its ``last_trade_price`` print, to join wallet fills to the tape
    tape_by_tx: BoundedDict[str, int] = attrs.field(factory=lambda: BoundedDict(100_000))
    counters: Counter[str] = attrs.field(factory=Counter)

    def extra(self, token_id: str, condition_id: Any = None) -> dict[str, Any]:
        """A new ``extra`` dict with the token's metadata (condition id, outcome, slug)."""
        out = self.token_map.extra_for(token_id) or {}
        if condition_id and "condition_id" not in out:
            out["condition_id"] = condition_id
        return out

    def join_tape(self, tx_hash: str | None, extra: dict[str, Any]) -> None:
        """Mark a wallet fill whose transaction was already printed on the tape.

        ``extra["tape_ts"]`` is the print's time: the fill and the print are
        one execution (the tape leads; the chain confirms seconds later).
        """
        if tx_hash:
            ts = self.tape_by_tx.get(tx_hash)
            if ts is not None:
                extra["tape_ts"] = ts

    def status(self, token_id: str) -> MarketStatus:
        st = self.market_status.get(token_id)
        if st is None:
            st = self.market_status[token_id] = MarketStatus(token_id)
        return st


def event(market_id: str, kind: str, ts: int, **fields: Any) -> MarketEvent:
    """A Polymarket event (no validation round-trip: callers pass checked values)."""
    return MarketEvent(VENUE, market_id, kind, ts, **fields)
