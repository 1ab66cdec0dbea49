"""Direction of Kalshi trades, fills and orders, as buy or sell of YES.

Kalshi describes direction three ways, oldest last:

* ``outcome_side`` / ``taker_outcome_side`` (``yes``/``no``): the outcome the
  party is positioned for. Buy-YES and sell-NO give ``yes``; buy-NO and
  sell-YES give ``no``. So ``yes`` is a buy of YES and ``no`` a sell of YES,
  at the same YES price.
* ``book_side`` / ``taker_book_side`` (``bid``/``ask``): the same bit in book
  words (``bid`` = ``yes``).
* legacy ``side`` (``yes``/``no``) plus ``action`` (``buy``/``sell``): buying
  NO is selling YES and selling NO is buying YES. For the public ``trade``
  message, ``taker_side`` alone is the outcome the taker bought.

The first field present wins.
"""

from __future__ import annotations

from typing import Any, Final

from horizon_flow_core.errors import FrameError, preview

_OUTCOME: Final = {"yes": "buy", "no": "sell"}
_BOOK: Final = {"bid": "buy", "ask": "sell"}
_FLIP: Final = {"buy": "sell", "sell": "buy"}
_ACTIONS: Final = {"buy": "buy", "sell": "sell", "sell_partial": "sell", "sell_to_close": "sell"}


def _lookup(msg: dict[str, Any], key: str, table: dict[str, str]) -> str | None:
    value = msg.get(key)
    if value is None or value == "":
        return None
    side = table.get(value.lower()) if isinstance(value, str) else None
    if side is None:
        raise FrameError(f"expected one of {', '.join(sorted(table))}, got {preview(value, 30)}",
                         field=f"msg.{key}")
    return side


def taker_side(msg: dict[str, Any]) -> str | None:
    """The taker's side of a public trade in YES terms, or None when the frame has none."""
    return (_lookup(msg, "taker_outcome_side", _OUTCOME)
            or _lookup(msg, "taker_book_side", _BOOK)
            or _lookup(msg, "taker_side", _OUTCOME))


def order_side(msg: dict[str, Any]) -> str | None:
    """Side of an own fill or order in YES terms, or None when the frame has none.

    A legacy frame with ``side`` but no (or an empty) ``action`` is read as a
    buy of that side, which is what such orders were.
    """
    side = _lookup(msg, "outcome_side", _OUTCOME) or _lookup(msg, "book_side", _BOOK)
    if side is not None:
        return side
    leg = _lookup(msg, "side", _OUTCOME)
    if leg is None:
        is_yes = msg.get("is_yes")
        if type(is_yes) is bool:
            leg = "buy" if is_yes else "sell"
    if leg is None:
        return None
    action = _lookup(msg, "action", _ACTIONS) or "buy"
    # leg is the YES-terms side of *buying* that leg; selling it flips
    return leg if action == "buy" else _FLIP[leg]
