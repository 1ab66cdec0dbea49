"""Reading single fields of Hyperliquid frames, with errors that name the field.

Prices and sizes arrive as decimal strings. Events carry floats (the pinned
schema); order and book state is kept in :class:`~decimal.Decimal` so that
comparisons (did the price change?) and sums (level totals) are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from horizon_flow_core.errors import FrameError, preview

VENUE: Final = "hyperliquid"

# "B"/"A" on the WebSocket and info endpoint; node book diffs also write
# "Bid"/"Ask" (docs) and some tools lower-case them.
_SIDES: Final[dict[str, str]] = {
    "B": "buy", "A": "sell", "Bid": "buy", "Ask": "sell", "bid": "buy", "ask": "sell",
    "b": "buy", "a": "sell", "buy": "buy", "sell": "sell", "Buy": "buy", "Sell": "sell",
    "BUY": "buy", "SELL": "sell", "BID": "buy", "ASK": "sell",
}


#: Largest integer kept as an integer (an order id, a block number): signed 64-bit.
MAX_INT: Final = 2**63 - 1
# What orjson can write: signed or unsigned 64-bit integers.
_JSON_INT_MIN: Final = -(2**63)
_JSON_INT_MAX: Final = 2**64 - 1
#: Deepest nesting kept in ``extra`` (orjson refuses beyond 255 levels, and the
#: event and feed record add levels of their own).
MAX_EXTRA_DEPTH: Final = 128
# Prices and sizes above this are refused: still finite as floats, and sums of
# many of them (level totals) stay finite too.
_DEC_MAX: Final = Decimal("1e300")
_PLAIN: Final = frozenset({str, float, bool, type(None)})


def uint(value: str) -> int | None:
    """The integer a string of ASCII digits spells, when it fits ``MAX_INT``; else None.

    ``str.isdigit`` alone also accepts ``"²"`` and other digits ``int()`` refuses.
    """
    if value.isascii() and value.isdigit() and len(value) <= 19:
        n = int(value)
        if n <= MAX_INT:
            return n
    return None


def oid_value(oid: str) -> int | str:
    """An oid as written to ``extra``: an integer when it is one (64-bit), else the string."""
    n = uint(oid)
    return oid if n is None else n


def json_value(value: Any, field: str, where: str) -> None:
    """Raise :class:`FrameError` unless orjson can write ``value`` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        t = type(v)
        if t in _PLAIN:
            continue
        if t is int:
            if not _JSON_INT_MIN <= v <= _JSON_INT_MAX:
                raise FrameError(f"{where}: integer outside the 64-bit range", field=field)
            continue
        if depth > MAX_EXTRA_DEPTH:
            raise FrameError(f"{where}: nested deeper than {MAX_EXTRA_DEPTH} levels",
                             field=field)
        if t is list:
            stack.extend((x, depth + 1) for x in v)
        elif t is dict:
            for k, x in v.items():
                if type(k) is not str:
                    raise FrameError(f"{where}: object key {preview(k)} is not a string",
                                     field=field)
                stack.append((x, depth + 1))
        else:
            raise FrameError(f"{where}: a {t.__name__} is not a JSON value", field=field)


def require(d: Mapping[str, Any], name: str, where: str) -> Any:
    try:
        return d[name]
    except KeyError:
        raise FrameError(f"{where}: missing field", field=name) from None


def text(d: Mapping[str, Any], name: str, where: str) -> str:
    value = require(d, name, where)
    if type(value) is not str or not value:
        raise FrameError(f"{where}: expected a non-empty string, got {preview(value)}",
                         field=name)
    return value


def dec(value: Any, field: str, where: str) -> Decimal:
    """A non-negative finite decimal from a string (or a JSON number)."""
    if type(value) is str:
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise FrameError(f"{where}: not a decimal number: {preview(value)}",
                             field=field) from None
    elif type(value) is int:
        d = Decimal(value)
    elif type(value) is float:
        d = Decimal(str(value))
    else:
        raise FrameError(f"{where}: expected a decimal string, got {preview(value)}", field=field)
    # is_finite first: comparing a NaN raises. The bound keeps float(d) finite.
    if not d.is_finite() or d < 0 or d > _DEC_MAX:
        raise FrameError(f"{where}: expected a finite non-negative number, got {preview(value)}",
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
    if type(value) is float:
        return value
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:  # beyond the float range
            raise ValueError(value) from None
    raise TypeError(value)


def num(value: Any, field: str, where: str) -> float:
    """A non-negative finite float from a decimal string (or a JSON number)."""
    try:
        return fast_num(value)
    except TypeError:
        raise FrameError(f"{where}: expected a decimal string, got {preview(value)}",
                         field=field) from None
    except ValueError:
        if type(value) is str:
            try:
                float(value)
            except ValueError:
                raise FrameError(f"{where}: not a decimal number: {preview(value)}",
                                 field=field) from None
        raise FrameError(f"{where}: expected a finite non-negative number, got {preview(value)}",
                         field=field) from None


def side(value: Any, field: str, where: str) -> str:
    s = _SIDES.get(value) if type(value) is str else None
    if s is None:
        raise FrameError(f"{where}: expected side 'B' or 'A', got {preview(value)}", field=field)
    return s


def wallet(value: Any, field: str, where: str) -> str:
    """A wallet address, lower-cased (the venue mixes cases across sources)."""
    if type(value) is not str or not value:
        raise FrameError(f"{where}: expected a wallet address, got {preview(value)}", field=field)
    return value.lower()


def oid_str(value: Any, field: str, where: str) -> str:
    if type(value) is int and 0 <= value <= _JSON_INT_MAX:
        return str(value)
    if type(value) is str and value:
        return value
    raise FrameError(f"{where}: expected an order id, got {preview(value)}", field=field)


def leftovers(d: Mapping[str, Any], mapped: Iterable[str] | frozenset[str],
              where: str = "frame") -> dict[str, Any]:
    """The fields of ``d`` the event has no column for, kept verbatim for ``extra``.

    Raises :class:`FrameError` naming the field when a value cannot be written
    (an integer beyond 64 bits, nesting deeper than ``MAX_EXTRA_DEPTH``).
    """
    out = {k: v for k, v in d.items() if k not in mapped}
    # strings, floats, bools and nulls need no check; ints are checked for their range
    if not _PLAIN.issuperset(map(type, out.values())):
        for k, v in out.items():
            t = type(v)
            if t not in _PLAIN and (t is not int or not _JSON_INT_MIN <= v <= _JSON_INT_MAX):
                json_value(v, k, where)
    return out
