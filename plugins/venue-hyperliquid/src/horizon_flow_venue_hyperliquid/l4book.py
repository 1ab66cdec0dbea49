"""Level totals from the node's per-order book diffs (``node_raw_book_diffs``).

Each diff names one order (``oid``, ``user``, ``coin``, ``side``, ``px``)
and what happened to it: ``{"new":{"sz"}}``, ``{"update":{"origSz","newSz"}}``
(also ``{"modified":{"sz"}}``) or ``"remove"``. A ``book.delta`` needs the new
*total* at the price level, so the sizes of the orders resting at each level
are tracked, exactly, in decimals.

Totals are complete only for orders whose ``new`` diff was seen: read the
diffs from the start of a session (or after an L4 snapshot). An update for an
order never seen adds that order from then on; a removal of one is skipped
and counted (``unseen_removals``) since it never counted towards our total.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

import attrs

from horizon_flow_core.errors import FrameError, preview
from horizon_flow_core.events import MarketEvent

from .bounded import BoundedMap
from .fields import VENUE, dec, leftovers, oid_str, side, text, wallet

_ZERO: Final = Decimal(0)
_MAPPED: Final = frozenset({"user", "oid", "coin", "side", "px", "raw_book_diff", "time"})


@attrs.define(slots=True)
class _Resting:
    coin: str
    side: str
    px: Decimal
    sz: Decimal


class RawBookDiffs:
    """Per-order state and per-level totals; one per normalizer."""

    def __init__(self, capacity: int) -> None:
        self._orders: BoundedMap[str, _Resting] = BoundedMap(capacity)
        self._levels: dict[tuple[str, str], dict[Decimal, Decimal]] = {}
        self.unseen_removals = 0

    def apply(self, diff: dict[str, Any], ts: int, fallback_side: str | None,
              extra: dict[str, Any], where: str) -> list[MarketEvent]:
        oid = oid_str(diff.get("oid"), "oid", where)
        coin = text(diff, "coin", where)
        px = dec(diff.get("px"), "px", where)
        user = diff.get("user")
        actor = wallet(user, "user", where) if user is not None else None
        raw = diff.get("raw_book_diff")
        prev = self._orders.get(oid)
        sd = diff.get("side")
        if sd is not None:
            book_side = side(sd, "side", where)
        elif prev is not None:
            book_side = prev.side
        elif fallback_side is not None:
            book_side = fallback_side
        else:
            raise FrameError(f"{where}: book diff without a side for an order never seen "
                             f"(oid {oid}); read order statuses first", field="side")
        if raw == "remove":
            what, new_sz = "remove", _ZERO
        elif isinstance(raw, dict) and len(raw) == 1:
            what, body = next(iter(raw.items()))
            if not isinstance(body, dict):
                raise FrameError(f"{where}: raw_book_diff.{what} must be an object",
                                 field="raw_book_diff")
            if what == "new":
                new_sz = dec(body.get("sz"), "raw_book_diff.new.sz", where)
            elif what == "update":
                new_sz = dec(body.get("newSz"), "raw_book_diff.update.newSz", where)
            elif what == "modified":
                new_sz = dec(body.get("sz"), "raw_book_diff.modified.sz", where)
            else:
                raise FrameError(f"{where}: unknown raw_book_diff kind {preview(what, 30)}",
                                 field="raw_book_diff")
        else:
            raise FrameError(f"{where}: raw_book_diff must be \"remove\" or an object with one "
                             f"of new/update/modified, got {preview(raw, 60)}",
                             field="raw_book_diff")
        # Checked before any state changes: a refused diff leaves the totals as they were.
        extra = {**extra, **leftovers(diff, _MAPPED, where)}
        if what == "remove" and prev is None:
            self.unseen_removals += 1
            return []
        levels = self._levels.setdefault((coin, book_side), {})
        if prev is not None and (prev.px != px or prev.side != book_side or prev.coin != coin):
            # The order moved (should not happen: a move is a new oid); take it
            # off its old level first so totals stay right.
            self._add(prev.coin, prev.side, prev.px, -prev.sz)
            prev = None
        old_sz = prev.sz if prev is not None else _ZERO
        total = self._add(coin, book_side, px, new_sz - old_sz, levels)
        if what == "remove" or new_sz == 0:
            self._orders.pop(oid)
        else:
            self._orders[oid] = _Resting(coin, book_side, px, new_sz)
        extra["diff"] = what
        extra["order_size"] = float(new_sz)
        return [MarketEvent(VENUE, coin, "book.delta", ts, actor_id=actor, order_id=oid,
                            side=book_side, price=float(px), size=float(total), extra=extra)]

    def level(self, coin: str, book_side: str, px: Decimal) -> Decimal:
        return self._levels.get((coin, book_side), {}).get(px, _ZERO)

    def _add(self, coin: str, book_side: str, px: Decimal, delta: Decimal,
             levels: dict[Decimal, Decimal] | None = None) -> Decimal:
        if levels is None:
            levels = self._levels.setdefault((coin, book_side), {})
        total = levels.get(px, _ZERO) + delta
        if total <= 0:
            levels.pop(px, None)
            return _ZERO
        levels[px] = total
        return total
