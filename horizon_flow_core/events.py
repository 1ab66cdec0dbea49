"""The normalized market event: the one record every venue turns its frames into.

The JSON form is pinned (feed logs written by other tools use it)::

    {"venue":"hyperliquid","market_id":"BTC","kind":"order.placed",
     "ts":1732147200123456789,"seq":42,"actor_id":"0xab..","order_id":"9912",
     "side":"buy","price":0.53,"size":100.0}

``ts`` is integer nanoseconds since the Unix epoch (UTC). Prices of
prediction markets are probabilities in [0, 1]; crypto prices are as quoted.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Final

import attrs

from .errors import FeedError, preview
from .event_shapes import MAX_SHAPES, compile_builder


class EventKind(enum.StrEnum):
    """Kinds of :class:`MarketEvent`. Members compare equal to their string values."""

    ORDER_PLACED = "order.placed"
    ORDER_CANCELED = "order.canceled"  #: ``size`` is the size cancelled
    ORDER_AMENDED = "order.amended"  #: ``price``/``size`` are the new values
    ORDER_FILLED = "order.filled"  #: one per participant of an execution
    TRADE_TAPE = "trade.tape"  #: the public print; ``side`` is the aggressor's
    QUOTE_UPDATE = "quote.update"  #: ``bid``, ``ask``, ``bid_size``, ``ask_size``
    BOOK_SNAPSHOT = "book.snapshot"  #: ``bids``/``asks``: ``[price, size]`` best first
    BOOK_DELTA = "book.delta"  #: ``side``, ``price``, ``size`` = new level total (0 removes)
    FEED_GAP = "feed.gap"
    FEED_STALE = "feed.stale"

    # The spellings of the earlier ``horizon.flow`` module, kept so detectors
    # written against its docs keep working (they are enum aliases).
    OrderPlaced = "order.placed"
    OrderCanceled = "order.canceled"
    OrderAmended = "order.amended"
    OrderFilled = "order.filled"
    TradeTape = "trade.tape"
    QuoteUpdate = "quote.update"
    BookSnapshot = "book.snapshot"
    BookDelta = "book.delta"
    FeedGap = "feed.gap"
    FeedStale = "feed.stale"


#: Alias under the earlier module's name.
MarketEventKind = EventKind

KINDS: Final[frozenset[str]] = frozenset(k.value for k in EventKind)
ORDER_KINDS: Final[frozenset[str]] = frozenset(
    {"order.placed", "order.canceled", "order.amended", "order.filled"}
)
BOOK_KINDS: Final[frozenset[str]] = frozenset({"book.snapshot", "book.delta"})
FEED_KINDS: Final[frozenset[str]] = frozenset({"feed.gap", "feed.stale"})

# Interned kind strings so the engine's dispatch dict lookups hit the
# identity fast path.
_KIND_INTERN: Final[dict[str, str]] = {k: k for k in KINDS}

BUY: Final = "buy"
SELL: Final = "sell"
_SIDES: Final[dict[str, str]] = {"buy": BUY, "sell": SELL, "BUY": BUY, "SELL": SELL, "Buy": BUY,
                                 "Sell": SELL}

Level = tuple[float, float]


# Not frozen on purpose: an attrs frozen __init__ costs ~5x a plain slotted
# one (3.2 us against 0.6 us per event here), and events are built on the hot
# path. Events are treated as immutable by convention: the engine and the
# built-in components never assign to them; use ``attrs.evolve`` for a copy.
@attrs.define(slots=True, weakref_slot=False, repr=True, eq=True)
class MarketEvent:
    """One normalized market event. See the module docstring for the JSON form."""

    venue: str
    market_id: str
    kind: str
    ts: int
    seq: int | None = None
    actor_id: str | None = None
    counterparty_id: str | None = None
    order_id: str | None = None
    side: str | None = None
    price: float | None = None
    size: float | None = None
    aggressor: bool | None = None
    tx_hash: str | None = None
    bid: float | None = None
    ask: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None
    bids: list[Level] | None = None
    asks: list[Level] | None = None
    extra: dict[str, Any] | None = None

    # -- the earlier module's attribute names, read-only ---------------------
    @property
    def event_kind(self) -> EventKind:
        return EventKind(self.kind)

    @property
    def venue_name(self) -> str:
        return self.venue

    @property
    def timestamp_ns(self) -> int:
        return self.ts

    def to_dict(self) -> dict[str, Any]:
        """The pinned JSON form: required fields, then the optional ones that are set."""
        return event_to_dict(self)


_FIELDS: Final[tuple[str, ...]] = tuple(a.name for a in attrs.fields(MarketEvent))
_OPTIONAL_FIELDS: Final[tuple[str, ...]] = _FIELDS[4:]
_KNOWN: Final[frozenset[str]] = frozenset(_FIELDS)


def event_to_dict(ev: MarketEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"venue": ev.venue, "market_id": ev.market_id, "kind": ev.kind,
                           "ts": ev.ts}
    for name in _OPTIONAL_FIELDS:
        value = getattr(ev, name)
        if value is not None:
            out[name] = [list(lv) for lv in value] if name in ("bids", "asks") else value
    return out


def _bad(field: str, reason: str) -> FeedError:
    return FeedError(reason, field=field)


def _levels(value: Any, name: str) -> list[Level]:
    if not isinstance(value, list):
        raise _bad(name, f"expected a list of [price, size], got {type(value).__name__}")
    out: list[Level] = []
    for i, lv in enumerate(value):
        if (not isinstance(lv, (list, tuple)) or len(lv) != 2
                or type(lv[0]) not in (int, float) or type(lv[1]) not in (int, float)):
            raise _bad(f"{name}[{i}]", f"expected [price, size] numbers, got {preview(lv, 60)}")
        out.append((float(lv[0]), float(lv[1])))
    return out


def _missing_for_kind(kind: str, side: Any, price: Any, size: Any, bid: Any, ask: Any,
                      bids: Any, asks: Any) -> str | None:
    """Name of a field the kind cannot do without, or None when complete."""
    if kind == "order.placed" or kind == "book.delta":
        if side is None:
            return "side"
        if price is None:
            return "price"
        if size is None:
            return "size"
    elif kind == "order.filled" or kind == "trade.tape":
        if price is None:
            return "price"
        if size is None:
            return "size"
    elif kind == "book.snapshot":
        if bids is None:
            return "bids"
        if asks is None:
            return "asks"
    elif kind == "quote.update":
        if bid is None and ask is None:
            return "bid"
    return None


def _required_for_kind(kind: str, ev: MarketEvent) -> str | None:
    return _missing_for_kind(kind, ev.side, ev.price, ev.size, ev.bid, ev.ask, ev.bids, ev.asks)


def event_from_dict(d: Any) -> MarketEvent:
    """Validate a decoded JSON object and build the event.

    Raises :class:`FeedError` naming the field for anything missing or
    mistyped. Keys outside the schema are kept, merged into ``extra``, so
    nothing a producer wrote is lost.

    This runs once per feed line, so the common case (every field present
    and well typed) is written as straight-line checks; anything unusual
    drops to :func:`_validate_slow`, which finds and names the problem.
    """
    if type(d) is not dict:
        raise FeedError(f"expected a JSON object, got {type(d).__name__}")
    try:
        build = _BUILDERS.get(tuple(d))
        if build is None:
            build = _builder_for(tuple(d))
        return build(d)
    except TypeError:
        # an unhashable value (a list or object) where a kind or side belongs
        raise _validate_slow(d) from None


def _builder_for(keys: tuple[str, ...]) -> Callable[[dict[str, Any]], MarketEvent]:
    """The compiled builder of this key set, made on first sight (the generic one when
    the set lacks a required key or the cache is full)."""
    if len(_BUILDERS) >= MAX_SHAPES:
        return _event_from_dict
    build = (compile_builder(keys, _FIELDS, _CHECK_ORDER, _KNOWN, _BUILDER_NAMESPACE)
             or _event_from_dict)
    _BUILDERS[keys] = build
    return build


def _event_from_dict(d: dict[str, Any]) -> MarketEvent:
    """The generic builder: every field read and checked (shapes not compiled)."""
    get = d.get
    venue = get("venue")
    market_id = get("market_id")
    kind = _KIND_INTERN.get(get("kind"))  # type: ignore[arg-type]
    ts = get("ts")
    if (type(venue) is not str or not venue or type(market_id) is not str or not market_id
            or kind is None or type(ts) is not int or ts < 0):
        raise _validate_slow(d)
    seq = get("seq")
    side = get("side")
    price = get("price")
    size = get("size")
    actor_id = get("actor_id")
    counterparty_id = get("counterparty_id")
    order_id = get("order_id")
    aggressor = get("aggressor")
    tx_hash = get("tx_hash")
    bid = get("bid")
    ask = get("ask")
    bid_size = get("bid_size")
    ask_size = get("ask_size")
    bids = get("bids")
    asks = get("asks")
    extra = get("extra")
    present = 4
    if seq is not None:
        present += 1
        if type(seq) is not int:
            raise _validate_slow(d)
    if side is not None:
        present += 1
        side = _SIDES.get(side)
        if side is None:
            raise _validate_slow(d)
    if price is not None:
        present += 1
        if type(price) is not float:
            price = _num(price, "price")
    if size is not None:
        present += 1
        if type(size) is not float:
            size = _num(size, "size")
    if actor_id is not None:
        present += 1
        if type(actor_id) is not str:
            actor_id = _id(actor_id, "actor_id")
    if counterparty_id is not None:
        present += 1
        if type(counterparty_id) is not str:
            counterparty_id = _id(counterparty_id, "counterparty_id")
    if order_id is not None:
        present += 1
        if type(order_id) is not str:
            order_id = _id(order_id, "order_id")
    if aggressor is not None:
        present += 1
        if type(aggressor) is not bool:
            raise _validate_slow(d)
    if tx_hash is not None:
        present += 1
        if type(tx_hash) is not str:
            tx_hash = _id(tx_hash, "tx_hash")
    if bid is not None:
        present += 1
        if type(bid) is not float:
            bid = _num(bid, "bid")
    if ask is not None:
        present += 1
        if type(ask) is not float:
            ask = _num(ask, "ask")
    if bid_size is not None:
        present += 1
        if type(bid_size) is not float:
            bid_size = _num(bid_size, "bid_size")
    if ask_size is not None:
        present += 1
        if type(ask_size) is not float:
            ask_size = _num(ask_size, "ask_size")
    if bids is not None:
        present += 1
        bids = _levels(bids, "bids")
    if asks is not None:
        present += 1
        asks = _levels(asks, "asks")
    if extra is not None:
        present += 1
        if type(extra) is not dict:
            raise _bad("extra", f"expected an object, got {type(extra).__name__}")
    if present != len(d):
        # keys outside the schema (or explicit nulls): keep the unknown ones in extra
        unknown = [k for k in d if k not in _KNOWN]
        if unknown:
            extra = dict(extra or {})
            for key in sorted(unknown):
                extra.setdefault(key, d[key])
    ev = MarketEvent(venue, market_id, kind, ts, seq, actor_id, counterparty_id, order_id, side,
                     price, size, aggressor, tx_hash, bid, ask, bid_size, ask_size, bids, asks,
                     extra)
    if kind in _NEEDS:
        missing = _required_for_kind(kind, ev)
        if missing is not None:
            raise _bad(missing, f"required for kind {kind!r} but missing")
    return ev


_NEEDS: Final[frozenset[str]] = frozenset(
    {"order.placed", "book.delta", "order.filled", "trade.tape", "book.snapshot", "quote.update"})

#: the order _event_from_dict checks the optional fields in (its errors name the first bad one)
_CHECK_ORDER: Final[tuple[str, ...]] = (
    "seq", "side", "price", "size", "actor_id", "counterparty_id", "order_id", "aggressor",
    "tx_hash", "bid", "ask", "bid_size", "ask_size", "bids", "asks", "extra")
#: compiled builders by key tuple (see :mod:`horizon_flow_core.event_shapes`)
_BUILDERS: dict[tuple[str, ...], Callable[[dict[str, Any]], MarketEvent]] = {}


def _num(value: Any, name: str) -> float:
    if type(value) is int:
        return float(value)
    raise _bad(name, f"expected a number, got {type(value).__name__} {preview(value)}")


def _id(value: Any, name: str) -> str:
    if type(value) is int:  # numeric ids are common; keep them, as strings
        return str(value)
    raise _bad(name, f"expected a string, got {type(value).__name__}")


def _validate_slow(d: dict[str, Any]) -> FeedError:
    """The error for a malformed event object, naming the first bad field."""
    venue = d.get("venue")
    if type(venue) is not str or not venue:
        return _bad("venue", "missing or not a non-empty string")
    market_id = d.get("market_id")
    if type(market_id) is not str or not market_id:
        return _bad("market_id", "missing or not a non-empty string")
    raw = d.get("kind")
    if raw is None:
        return _bad("kind", "missing")
    if type(raw) is not str or _KIND_INTERN.get(raw) is None:
        return _bad("kind", f"unknown kind {preview(raw)}; expected one of "
                            f"{', '.join(sorted(KINDS))}")
    ts = d.get("ts")
    if type(ts) is not int:
        return _bad("ts", f"expected integer nanoseconds since the epoch, got {preview(ts)}")
    if ts < 0:
        return _bad("ts", f"negative timestamp {ts}")
    seq = d.get("seq")
    if seq is not None and type(seq) is not int:
        return _bad("seq", f"expected an integer, got {preview(seq)}")
    side = d.get("side")
    if side is not None and (type(side) is not str or _SIDES.get(side) is None):
        return _bad("side", f"expected 'buy' or 'sell', got {preview(side)}")
    aggressor = d.get("aggressor")
    if aggressor is not None and type(aggressor) is not bool:
        return _bad("aggressor", f"expected true or false, got {preview(aggressor)}")
    return FeedError("malformed event")


#: what the compiled builders call
_BUILDER_NAMESPACE: Final[dict[str, Any]] = {
    "MarketEvent": MarketEvent, "_KIND_INTERN": _KIND_INTERN, "_SIDES": _SIDES, "_num": _num,
    "_id": _id, "_levels": _levels, "_bad": _bad, "_validate_slow": _validate_slow,
    "_NEEDS": _NEEDS, "_missing_for_kind": _missing_for_kind,
}


def make_event(venue: str, market_id: str, kind: str, ts: int, **fields: Any) -> MarketEvent:
    """Build an event in code (tests, venue plugins) with the same checks as the feed reader."""
    d: dict[str, Any] = {"venue": venue, "market_id": market_id, "kind": str(kind), "ts": ts}
    d.update({k: v for k, v in fields.items() if v is not None})
    return event_from_dict(d)
