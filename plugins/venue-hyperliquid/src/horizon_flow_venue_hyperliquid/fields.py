"""Reading single fields of Hyperliquid frames, with errors that name the field.

Prices and sizes arrive as decimal strings. Events carry floats (the pinned
schema); order and book state is kept in :class:`~decimal.Decimal` so that
comparisons (did the price change?) and sums (level totals) are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from horizon_flow_core.errors import FrameError

VENUE: Final = "hyperliquid"

# "B"/"A" on the WebSocket and info endpoint; node book diffs also write
# "Bid"/"Ask" (docs) and some tools lower-case them.
_SIDES: Final[dict[str, str]] = {
    "B": "buy", "A": "sell", "Bid": "buy", "Ask": "sell", "bid": "buy", "ask": "sell",
    "b": "buy", "a": "sell", "buy": "buy", "sell": "sell", "Buy": "buy", "Sell": "sell",
    "BUY": "buy", "SELL": "sell", "BID": "buy", "ASK": "sell",
}


def require(d: Mapping[str, Any], name: str, where: str) -> Any:
    try:
        return d[name]
    except KeyError:
        raise FrameError(f"{where}: missing field", field=name) from None


def text(d: Mapping[str, Any], name: str, where: str) -> str:
    value = require(d, name, where)
    if type(value) is not str or not value:
        raise FrameError(f"{where}: expected a non-empty string, got {value!r:.40}", field=name)
    return value


def dec(value: Any, field: str, where: str) -> Decimal:
    """A non-negative finite decimal from a string (or a JSON number)."""
    if type(value) is str:
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise FrameError(f"{where}: not a decimal number: {value!r:.40}", field=field) from None
    elif type(value) in (int, float):
        d = Decimal(str(value))
    else:
        raise FrameError(f"{where}: expected a decimal string, got {value!r:.40}", field=field)
    if not d.is_finite() or d < 0:
        raise FrameError(f"{where}: expected a finite non-negative number, got {value!r:.40}",
                         field=field)
    return d


_INF: Final = float("inf")


def fast_num(value: Any) -> float:
    """``num`` without the error message: raises ValueError/TypeError (hot paths)."""
    f = float(value) if type(value) is str else _as_number(value)
    if not 0.0 <= f < _INF:  # also false for NaN
        raise ValueError(value)
    return f


def _as_number(value: Any) -> float:
    if type(value) is float or type(value) is int:
        return float(value)
    raise TypeError(value)


def num(value: Any, field: str, where: str) -> float:
    """A non-negative finite float from a decimal string (or a JSON number)."""
    try:
        return fast_num(value)
    except TypeError:
        raise FrameError(f"{where}: expected a decimal string, got {value!r:.40}",
                         field=field) from None
    except ValueError:
        if type(value) is str:
            try:
                float(value)
            except ValueError:
                raise FrameError(f"{where}: not a decimal number: {value!r:.40}",
                                 field=field) from None
        raise FrameError(f"{where}: expected a finite non-negative number, got {value!r:.40}",
                         field=field) from None


def side(value: Any, field: str, where: str) -> str:
    s = _SIDES.get(value) if type(value) is str else None
    if s is None:
        raise FrameError(f"{where}: expected side 'B' or 'A', got {value!r:.40}", field=field)
    return s


def wallet(value: Any, field: str, where: str) -> str:
    """A wallet address, lower-cased (the venue mixes cases across sources)."""
    if type(value) is not str or not value:
        raise FrameError(f"{where}: expected a wallet address, got {value!r:.40}", field=field)
    return value.lower()


def oid_str(value: Any, field: str, where: str) -> str:
    if type(value) is int and value >= 0:
        return str(value)
    if type(value) is str and value:
        return value
    raise FrameError(f"{where}: expected an order id, got {value!r:.40}", field=field)


def leftovers(d: Mapping[str, Any], mapped: Iterable[str] | frozenset[str]) -> dict[str, Any]:
    """The fields of ``d`` the event has no column for, kept verbatim for ``extra``."""
    return {k: v for k, v in d.items() if k not in mapped}
