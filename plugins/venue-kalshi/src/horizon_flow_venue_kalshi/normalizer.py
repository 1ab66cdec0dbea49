"""Kalshi WebSocket v2 frames (and REST trade pages) into :class:`MarketEvent` records.

What each message becomes (all prices are YES prices in dollars, in [0, 1]):

=========================  ===============================================================
``orderbook_snapshot``     ``book.snapshot`` (+ ``quote.update`` of the YES top of book)
``orderbook_delta``        ``book.delta`` with the *new level total* (0 removes the level),
                           + ``quote.update`` when the top of book changed
``trade``                  ``trade.tape``; side = the taker's, in YES terms
``ticker`` / ``ticker_v2`` ``quote.update`` when bid/ask/sizes changed (``extra.source`` =
                           ``ticker``; book-made quotes say ``book``)
``fill``                   ``order.filled`` of the firm's own subaccount
``user_order``             ``order.placed`` on first sight, ``order.amended`` on a price or
                           size change, ``order.canceled`` when cancelled
lifecycle messages         no event; kept in :attr:`KalshiNormalizer.market_status` /
                           :attr:`KalshiNormalizer.event_status`
``subscribed``/``ok``/...  no event (errors kept in :attr:`KalshiNormalizer.errors`)
=========================  ===============================================================

**Actors.** Kalshi's public data names nobody. Only the firm's own ``fill`` and
``user_order`` messages carry an identity, the subaccount number; their events
get ``actor_id = "subaccount:<n>"`` (``0`` is the primary account, and frames
without the field are the primary account).

**Sequence checking.** ``seq`` counts per subscription id (``sid``). For the
order-book channel a jump (or a repeat) means a message was lost, and since
one subscription covers many markets, *every* market of that ``sid`` whose
book was in sync is marked out of sync and gets a ``feed.gap`` event
(``extra``: ``sid``, ``expected``, ``got``). Deltas for an out-of-sync
market are **dropped** (counted in ``stats["deltas_dropped_unsynced"]``)
until a fresh ``orderbook_snapshot`` for it arrives; the live source asks for
one with ``update_subscription``/``get_snapshot`` (see
:meth:`KalshiNormalizer.pop_snapshot_requests`). A delta for a market that
never had a snapshot is dropped the same way and reported once with a
``feed.gap`` (``reason = "no_snapshot"``). For the ``trade`` channel a gap
means lost prints that cannot be re-fetched over the socket: it gives a
``feed.gap`` (``channel = "trade"``) and nothing else, and can be switched
off with ``trade_gap_events = false`` (useful for archives filtered to a
few markets out of an all-market subscription, where gaps are expected).
A ``subscribed`` or ``unsubscribed`` response resets its ``sid``'s counter.
The first ``seq`` seen on a ``sid`` is accepted as is.

**Time.** ``ts_ms`` (ms) is preferred, then ``ts`` (seconds, or RFC 3339 in
older deltas), then the RFC 3339 ``time``/``created_time``; a frame without
its own time (snapshots) takes the receive time, and without that, the last
time seen on this stream, so the same frames always give the same events; a
frame with no time at all before any other is rejected (no event carries
time 0). Every time must lie after 1970 and before 2200, ``recv_ts`` included.

**Bad input.** Any frame the normalizer cannot read raises :class:`FrameError`
naming the field, before any state changes where possible. Values are checked
where they are read (see :mod:`.units`), so no event carries a non-finite or
negative size, an out-of-range time, or an ``extra`` value that is not a plain
string, bool or bounded number.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from decimal import Decimal
from itertools import islice
from typing import Any, Final

import orjson

from horizon_flow_core.errors import FrameError, preview
from horizon_flow_core.events import MarketEvent

from . import units
from .book import Level, YesBook
from .config import KalshiConfig
from .sides import order_side, taker_side
from .units import ONE, ZERO, as_float

log = logging.getLogger("horizon_flow.venue.kalshi")

VENUE: Final = "kalshi"

#: channel-error codes after which the subscription is dead and must be redone
TERMINAL_ERROR_CODES: Final[frozenset[int]] = frozenset({10, 25})

#: message types that carry nothing this plugin turns into events
_IGNORED: Final[frozenset[str]] = frozenset({
    "market_position", "market_positions", "order_group_updates", "rfq_created",
    "rfq_deleted", "quote_created", "quote_accepted", "quote_executed", "cfbenchmarks_value",
    "cfbenchmarks_value_5hz", "cfbenchmarks_value_indexlist", "cfbenchmarks_value_5hz_indexlist",
    "pyth_value", "pyth_value_underlying_list", "multivariate_lookup", "list_subscriptions",
})

_BOOK_CHANNEL: Final = "orderbook_delta"
_TRADE_CHANNEL: Final = "trade"

_Top = tuple[Level | None, Level | None]


def subaccount_actor(n: int) -> str:
    """The actor id of one of the firm's own subaccounts (0 = primary)."""
    return f"subaccount:{n}"


class _Order:
    """What we last knew of one of our resting orders."""

    __slots__ = ("filled", "price", "remaining", "total")

    def __init__(self, price: Decimal, remaining: Decimal, filled: Decimal,
                 total: Decimal) -> None:
        self.price = price
        self.remaining = remaining
        self.filled = filled
        self.total = total


class KalshiNormalizer:
    """Stateful normalizer of one Kalshi stream. See the module docstring."""

    venue = VENUE

    def __init__(self, config: KalshiConfig | None = None) -> None:
        self.config = config if config is not None else KalshiConfig()
        self._yes_price_no_side = self.config.use_yes_price
        self.books: dict[str, YesBook] = {}
        #: markets whose book came from a snapshot with no gap since
        self.synced: set[str] = set()
        # markets out of sync whose loss was already reported with a feed.gap
        self._gap_reported: set[str] = set()
        self._last_top: dict[str, _Top] = {}
        self._last_ticker: dict[str, tuple[Decimal | None, ...]] = {}
        #: sid -> channel name, from ``subscribed`` responses
        self.sid_channel: dict[int, str] = {}
        #: sid -> markets seen on that order-book subscription
        self.sid_markets: dict[int, set[str]] = {}
        #: sid -> last seq seen
        self.last_seq: dict[int, int] = {}
        #: market ticker -> merged fields of its lifecycle messages
        self.market_status: dict[str, dict[str, Any]] = {}
        #: event ticker -> merged fields of ``event_lifecycle`` / ``event_fee_update``
        self.event_status: dict[str, dict[str, Any]] = {}
        #: the venue's ``error`` responses, newest last (bounded)
        self.errors: collections.deque[dict[str, Any]] = collections.deque(maxlen=256)
        #: counters of everything dropped or noteworthy
        self.stats: collections.Counter[str] = collections.Counter()
        self._orders: dict[str, _Order] = {}
        self._trade_ids: dict[str, None] = {}
        self._snapshot_requests: dict[int, set[str]] = {}
        self._last_ts = 0
        self._handlers: dict[str, Callable[[dict[str, Any], int | None], list[MarketEvent]]] = {
            "orderbook_snapshot": self._snapshot,
            "orderbook_delta": self._delta,
            "trade": self._trade,
            "ticker": self._ticker,
            "ticker_v2": self._ticker,
            "fill": self._fill,
            "user_order": self._user_order,
            "market_lifecycle_v2": self._lifecycle,
            "market_lifecycle": self._lifecycle,
            "multivariate_market_lifecycle": self._lifecycle,
            "event_lifecycle": self._event_status,
            "event_fee_update": self._event_status,
            "subscribed": self._subscribed,
            "unsubscribed": self._unsubscribed,
            "ok": self._ok,
            "error": self._error,
        }

    # ------------------------------------------------------------------ entry

    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        """Events of one frame as received (object, array, JSON text or bytes).

        Raises :class:`FrameError` (naming the field) for a frame it cannot read.
        """
        if recv_ts is not None:
            self._check_recv_ts(recv_ts)
        return self._frames(self._decode(frame), recv_ts, envelope_ok=True)

    def pop_snapshot_requests(self) -> list[tuple[int, list[str]]]:
        """Markets whose deltas are being dropped, per sid: ask the venue for snapshots."""
        if not self._snapshot_requests:
            return []
        out = [(sid, sorted(markets)) for sid, markets in sorted(self._snapshot_requests.items())
               if markets]
        self._snapshot_requests.clear()
        return out

    def book_levels(self, market: str) -> tuple[list[tuple[float, float]],
                                                list[tuple[float, float]]] | None:
        """The current YES book of ``market`` (bids, asks; best first), or None."""
        book = self.books.get(market)
        if book is None:
            return None
        return ([(as_float(p), as_float(s)) for p, s in book.sorted_bids()],
                [(as_float(p), as_float(s)) for p, s in book.sorted_asks()])

    # ------------------------------------------------------------------ dispatch

    @staticmethod
    def _decode(frame: Any) -> Any:
        if isinstance(frame, (bytes, bytearray, memoryview)):
            try:
                frame = bytes(frame).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FrameError(f"frame is not UTF-8 text: {exc.reason}") from None
        if isinstance(frame, str):
            try:
                frame = orjson.loads(frame)
            except orjson.JSONDecodeError as exc:
                raise FrameError(f"frame is not JSON: {exc.msg} at char {exc.pos}: "
                                 f"{frame[:60]!r}") from None
        return frame

    @staticmethod
    def _check_recv_ts(recv_ts: Any) -> None:
        if type(recv_ts) is not int:
            raise FrameError(f"expected integer epoch ns, got {preview(recv_ts)}",
                             field="recv_ts")
        units.check_ns(recv_ts, "recv_ts")

    def _frames(self, frame: Any, recv_ts: int | None, envelope_ok: bool) -> list[MarketEvent]:
        if isinstance(frame, list):
            out: list[MarketEvent] = []
            for item in frame:
                out.extend(self._one(item, recv_ts, envelope_ok))
            return out
        return self._one(frame, recv_ts, envelope_ok)

    def _one(self, frame: Any, recv_ts: int | None, envelope_ok: bool = True
             ) -> list[MarketEvent]:
        if not isinstance(frame, dict):
            raise FrameError(f"expected a JSON object, got {type(frame).__name__}")
        kind = frame.get("type")
        if kind is None:
            return self._untyped(frame, recv_ts, envelope_ok)
        if not isinstance(kind, str):
            raise FrameError(f"expected a string message type, got {preview(kind)}",
                             field="type")
        handler = self._handlers.get(kind)
        if handler is None:
            if kind in _IGNORED:
                self.stats[f"ignored:{kind}"] += 1
                return []
            raise FrameError(f"unknown message type {preview(kind)}", field="type")
        return handler(frame, recv_ts)

    def _untyped(self, frame: dict[str, Any], recv_ts: int | None, envelope_ok: bool
                 ) -> list[MarketEvent]:
        if "cmd" in frame:
            return []  # one of our own commands, kept in a recording
        if "frame" in frame and "recv_ts" in frame:
            # a line of a raw recording: {"venue", "recv_ts", "frame"}; one level only,
            # so that nesting (up to orjson's 1024) cannot exhaust the stack
            if not envelope_ok:
                raise FrameError("a recording line inside a recording line", field="frame")
            inner_ts = frame["recv_ts"]
            if type(inner_ts) is int:
                self._check_recv_ts(inner_ts)
                recv_ts = inner_ts
            return self._frames(self._decode(frame["frame"]), recv_ts, envelope_ok=False)
        trades = frame.get("trades")
        if isinstance(trades, list):
            return self._rest_trades(trades, recv_ts)
        raise FrameError("missing message type", field="type")

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _msg(frame: dict[str, Any]) -> dict[str, Any]:
        msg = frame.get("msg")
        if not isinstance(msg, dict):
            raise FrameError("expected an object", field="msg")
        return msg

    @staticmethod
    def _market(msg: dict[str, Any], *keys: str) -> str:
        for key in keys or ("market_ticker", "ticker"):
            value = msg.get(key)
            if isinstance(value, str) and value:
                return value
        raise FrameError("missing market ticker", field=f"msg.{(keys or ('market_ticker',))[0]}")

    @staticmethod
    def _int_field(frame: dict[str, Any], key: str) -> int | None:
        """``sid``/``seq``: None when absent, else a non-negative 64-bit integer."""
        value = frame.get(key)
        if value is None:
            return None
        return units.bounded_int(value, key)

    def _time(self, msg: dict[str, Any], recv_ts: int | None,
              keys: tuple[str, ...] = ("ts_ms", "ts", "time", "created_time")) -> int:
        ts = units.frame_time_ns(msg, "msg.", keys)
        if ts is None:
            ts = self._fallback_time(recv_ts, "msg." + keys[0])
        self._last_ts = ts
        return ts

    def _fallback_time(self, recv_ts: int | None, field: str) -> int:
        """The time of a frame without its own: the receive time, else the last time seen."""
        if recv_ts is not None:
            return recv_ts
        if self._last_ts > 0:
            return self._last_ts
        raise FrameError("no time: the frame has none, no receive time was given and no "
                         "earlier frame had one", field=field)

    def _event(self, market: str, kind: str, ts: int, seq: int | None = None,
               **fields: Any) -> MarketEvent:
        return MarketEvent(VENUE, market, kind, ts, seq, **fields)

    def _gap(self, market: str, ts: int, seq: int | None, extra: dict[str, Any]) -> MarketEvent:
        self.stats["gap_events"] += 1
        return self._event(market, "feed.gap", ts, seq, extra=extra)

    def _request_snapshot(self, sid: int | None, market: str) -> None:
        if sid is not None:
            self._snapshot_requests.setdefault(sid, set()).add(market)

    # ------------------------------------------------------------------ sequence

    def _check_seq(self, frame: dict[str, Any], channel: str, market: str, ts: int,
                   snapshot_market: str | None = None) -> list[MarketEvent]:
        sid = self._int_field(frame, "sid")
        seq = self._int_field(frame, "seq")
        if sid is None:
            return []
        if channel == _BOOK_CHANNEL:
            self.sid_markets.setdefault(sid, set()).add(market)
        if seq is None:
            return []
        last = self.last_seq.get(sid)
        self.last_seq[sid] = seq
        if last is None or seq == last + 1:
            return []
        self.stats[f"seq_gaps:{channel}"] += 1
        extra = {"sid": sid, "expected": last + 1, "got": seq, "channel": channel,
                 "reason": "seq_gap"}
        log.warning("kalshi: seq gap on sid %d (%s): expected %d, got %d", sid, channel,
                    last + 1, seq)
        if channel != _BOOK_CHANNEL:
            if channel == _TRADE_CHANNEL and not self.config.trade_gap_events:
                return []
            return [self._gap(market, ts, seq, extra)]
        affected = sorted(m for m in self.sid_markets.get(sid, ())
                          if m in self.synced and m != snapshot_market)
        for m in affected:
            self.synced.discard(m)
            self._gap_reported.add(m)
            self._request_snapshot(sid, m)
        if not affected:
            affected = [market]
        return [self._gap(m, ts, seq, dict(extra)) for m in affected]

    # ------------------------------------------------------------------ books

    def _levels(self, msg: dict[str, Any], leg: str) -> list[Level]:
        for key, parse in ((f"{leg}_dollars_fp", units.dollars), (f"{leg}_dollars", units.dollars),
                           (leg, units.cents)):
            if key not in msg:
                continue
            raw = msg[key]
            if raw is None:
                return []
            if not isinstance(raw, list):
                raise FrameError(f"expected a list of [price, count], got {type(raw).__name__}",
                                 field=f"msg.{key}")
            out: list[Level] = []
            for i, lv in enumerate(raw):
                if not isinstance(lv, (list, tuple)) or len(lv) < 2:
                    raise FrameError(f"expected [price, count], got {preview(lv)}",
                                     field=f"msg.{key}[{i}]")
                out.append((parse(lv[0], f"msg.{key}[{i}][0]"),
                            units.count(lv[1], f"msg.{key}[{i}][1]")))
            return out
        return []

    def _ask_price(self, no_price: Decimal) -> Decimal:
        # a NO bid at q is a YES ask at 1 - q, unless the venue already converted it
        return no_price if self._yes_price_no_side else ONE - no_price

    def _quote(self, market: str, book: YesBook, ts: int, seq: int | None
               ) -> list[MarketEvent]:
        if not self.config.book_quotes:
            return []
        top = book.top()
        if self._last_top.get(market) == top:
            return []
        self._last_top[market] = top
        bid, ask = top
        if bid is None and ask is None:
            return []
        return [self._event(
            market, "quote.update", ts, seq,
            bid=as_float(bid[0]) if bid else None, bid_size=as_float(bid[1]) if bid else None,
            ask=as_float(ask[0]) if ask else None, ask_size=as_float(ask[1]) if ask else None,
            extra={"source": "book"})]

    def _snapshot(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        msg = self._msg(frame)
        market = self._market(msg)
        bids = self._levels(msg, "yes")
        asks = [(self._ask_price(q), s) for q, s in self._levels(msg, "no")]
        ts = self._time(msg, recv_ts)
        out = self._check_seq(frame, _BOOK_CHANNEL, market, ts, snapshot_market=market)
        book = self.books.get(market)
        if book is None:
            book = self.books[market] = YesBook()
        book.replace(bids, asks)
        self.synced.add(market)
        self._gap_reported.discard(market)
        for pending in self._snapshot_requests.values():
            pending.discard(market)
        seq = self._int_field(frame, "seq")
        out.append(self._event(
            market, "book.snapshot", ts, seq,
            bids=[(as_float(p), as_float(s)) for p, s in book.sorted_bids()],
            asks=[(as_float(p), as_float(s)) for p, s in book.sorted_asks()]))
        self._last_top.pop(market, None)  # a snapshot always restates the quote
        out.extend(self._quote(market, book, ts, seq))
        return out

    def _delta(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        msg = self._msg(frame)
        market = self._market(msg)
        leg = msg.get("side")
        if leg not in ("yes", "no"):
            raise FrameError(f"expected 'yes' or 'no', got {preview(leg, 20)}",
                             field="msg.side")
        price = units.price_from(msg, "price_dollars", "price")
        if price is None:
            raise FrameError("missing price", field="msg.price_dollars")
        increment = units.count_from(msg, "delta_fp", "delta", signed=True)
        if increment is None:
            raise FrameError("missing size increment", field="msg.delta_fp")
        ts = self._time(msg, recv_ts, ("ts_ms", "ts"))
        # every field is checked before any state changes (sequence, book): a rejected
        # frame must leave the normalizer as it found it
        extra: dict[str, Any] | None = None
        # the venue marks book changes caused by our own orders
        client_order_id = msg.get("client_order_id")
        if client_order_id is not None:
            extra = {"client_order_id": units.id_string(client_order_id, "msg.client_order_id")}
        subaccount = msg.get("subaccount")
        if subaccount is not None:
            extra = {**(extra or {}), "subaccount": units.bounded_int(
                subaccount, "msg.subaccount", "a subaccount number")}
        out = self._check_seq(frame, _BOOK_CHANNEL, market, ts)
        sid = self._int_field(frame, "sid")
        seq = self._int_field(frame, "seq")
        if market not in self.synced:
            self.stats["deltas_dropped_unsynced"] += 1
            self._request_snapshot(sid, market)
            if market not in self._gap_reported:
                self._gap_reported.add(market)
                out.append(self._gap(market, ts, seq, {
                    "sid": sid, "channel": _BOOK_CHANNEL, "reason": "no_snapshot"}))
            return out
        book = self.books[market]
        is_bid = leg == "yes"
        level = price if is_bid else self._ask_price(price)
        total = book.apply(is_bid, level, increment)
        out.append(self._event(market, "book.delta", ts, seq, side="buy" if is_bid else "sell",
                               price=as_float(level), size=as_float(total), extra=extra))
        out.extend(self._quote(market, book, ts, seq))
        return out

    # ------------------------------------------------------------------ trades

    def _yes_price(self, msg: dict[str, Any]) -> Decimal:
        price = units.price_from(msg, "yes_price_dollars", "yes_price")
        if price is None:
            no = units.price_from(msg, "no_price_dollars", "no_price")
            if no is None:
                raise FrameError("missing price", field="msg.yes_price_dollars")
            price = ONE - no
        return price

    def _trade(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        msg = self._msg(frame)
        return self._trade_msg(frame, msg, recv_ts)

    def _rest_trades(self, trades: list[Any], recv_ts: int | None) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for i, trade in enumerate(trades):
            if not isinstance(trade, dict):
                raise FrameError(f"expected an object, got {type(trade).__name__}",
                                 field=f"trades[{i}]")
            try:
                out.extend(self._trade_msg({}, trade, recv_ts))
            except FrameError as exc:
                raise FrameError(exc.reason, field=f"trades[{i}].{(exc.field or '')[4:]}"
                                 ) from None
        return out

    def _trade_msg(self, frame: dict[str, Any], msg: dict[str, Any], recv_ts: int | None
                   ) -> list[MarketEvent]:
        market = self._market(msg)
        price = self._yes_price(msg)
        size = units.count_from(msg, "count_fp", "count")
        if size is None:
            raise FrameError("missing trade size", field="msg.count_fp")
        side = taker_side(msg)
        ts = self._time(msg, recv_ts)
        out = self._check_seq(frame, _TRADE_CHANNEL, market, ts)
        trade_id = msg.get("trade_id")
        extra: dict[str, Any] | None = None
        if trade_id is not None:
            trade_id = units.id_string(trade_id, "msg.trade_id")
            if self.config.trade_dedupe_window:
                if trade_id in self._trade_ids:
                    self.stats["trades_duplicate"] += 1
                    return out
                self._trade_ids[trade_id] = None
                window = self.config.trade_dedupe_window
                if len(self._trade_ids) > window + window // 10:
                    # the oldest beyond the window, a tenth at once: dropping one per
                    # trade would rescan the dict's dropped slots on every trade
                    ids = self._trade_ids
                    for old in list(islice(ids, len(ids) - window)):
                        del ids[old]
            extra = {"trade_id": trade_id}
        if msg.get("is_block_trade") is True:
            extra = {**(extra or {}), "block_trade": True}
        seq = self._int_field(frame, "seq")
        out.append(self._event(market, "trade.tape", ts, seq, side=side, price=as_float(price),
                               size=as_float(size), extra=extra))
        return out

    def _ticker(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        msg = self._msg(frame)
        market = self._market(msg)
        fresh = (units.price_from(msg, "yes_bid_dollars", "yes_bid"),
                 units.price_from(msg, "yes_ask_dollars", "yes_ask"),
                 units.count_from(msg, "yes_bid_size_fp", "yes_bid_size"),
                 units.count_from(msg, "yes_ask_size_fp", "yes_ask_size"))
        ts = self._time(msg, recv_ts, ("ts_ms", "ts", "time"))
        last = self._last_ticker.get(market, (None, None, None, None))
        # ticker_v2 sends only the fields that changed: carry the others over
        quote = tuple(f if f is not None else old for f, old in zip(fresh, last, strict=True))
        if quote == last or (quote[0] is None and quote[1] is None):
            return []
        self._last_ticker[market] = quote
        bid, ask, bid_size, ask_size = quote
        extra: dict[str, Any] = {"source": "ticker"}
        for name, value in (
                ("last_price", units.price_from(msg, "price_dollars", "price")),
                ("volume", units.count_from(msg, "volume_fp", "volume")),
                ("open_interest", units.count_from(msg, "open_interest_fp", "open_interest"))):
            if value is not None:
                extra[name] = as_float(value)
        return [self._event(
            market, "quote.update", ts, None,
            bid=None if bid is None else as_float(bid), ask=None if ask is None else as_float(ask),
            bid_size=None if bid_size is None else as_float(bid_size),
            ask_size=None if ask_size is None else as_float(ask_size), extra=extra)]

    # ------------------------------------------------------------------ own orders

    @staticmethod
    def _actor(msg: dict[str, Any]) -> str:
        for key in ("subaccount", "subaccount_number"):
            value = msg.get(key)
            if value is None:
                continue
            return subaccount_actor(units.bounded_int(value, f"msg.{key}", "a subaccount number"))
        return subaccount_actor(0)

    @staticmethod
    def _required_side(msg: dict[str, Any]) -> str:
        side = order_side(msg)
        if side is None:
            raise FrameError("missing order direction", field="msg.outcome_side")
        return side

    def _fill(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        msg = self._msg(frame)
        market = self._market(msg)
        price = self._yes_price(msg)
        size = units.count_from(msg, "count_fp", "count")
        if size is None:
            raise FrameError("missing fill size", field="msg.count_fp")
        side = self._required_side(msg)
        actor = self._actor(msg)
        ts = self._time(msg, recv_ts)
        is_taker = msg.get("is_taker")
        extra: dict[str, Any] = {}
        for key in ("trade_id", "client_order_id"):
            if msg.get(key) is not None:
                extra[key] = units.id_string(msg[key], f"msg.{key}")
        for key in ("fee_cost", "fee_cost_dollars"):
            fee = msg.get(key)
            if fee is not None:
                extra["fee"] = as_float(units.to_decimal(fee, f"msg.{key}"))
                break
        position = units.count_from(msg, "post_position_fp", "post_position", signed=True)
        if position is not None:
            extra["post_position"] = as_float(position)
        order_id = msg.get("order_id")
        if order_id is not None:
            order_id = units.id_string(order_id, "msg.order_id")
        seq = self._int_field(frame, "seq")
        return [self._event(
            market, "order.filled", ts, seq, actor_id=actor, order_id=order_id, side=side,
            price=as_float(price), size=as_float(size),
            aggressor=is_taker if type(is_taker) is bool else None, extra=extra or None)]

    def _user_order(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        msg = self._msg(frame)
        order_id = msg.get("order_id")
        if order_id is None or order_id == "":
            raise FrameError("missing order id", field="msg.order_id")
        order_id = units.id_string(order_id, "msg.order_id")
        market = self._market(msg, "ticker", "market_ticker")
        status = units.optional_str(msg, "status")
        price = self._yes_price(msg)
        side = self._required_side(msg)
        actor = self._actor(msg)
        remaining = units.count_from(msg, "remaining_count_fp", "remaining_count")
        filled = units.count_from(msg, "fill_count_fp", "fill_count") or ZERO
        initial = units.count_from(msg, "initial_count_fp", "initial_count")
        if remaining is None:
            remaining = (initial - filled) if initial is not None else ZERO
        extra: dict[str, Any] = {"status": status}
        if msg.get("client_order_id"):
            extra["client_order_id"] = units.id_string(msg["client_order_id"],
                                                       "msg.client_order_id")
        reason = units.optional_str(msg, "last_update_reason")
        if reason:
            extra["reason"] = reason
        update_ts = units.frame_time_ns(
            msg, "msg.", ("last_updated_ts_ms", "last_update_time", "ts_ms", "ts"))
        out: list[MarketEvent] = []
        state = self._orders.get(order_id)
        common = {"actor_id": actor, "order_id": order_id, "side": side}
        if state is None:
            total = initial if initial is not None else remaining + filled
            placed_ts = self._time(msg, recv_ts if update_ts is None else update_ts,
                                   ("created_ts_ms", "created_time"))
            out.append(self._event(market, "order.placed", placed_ts, None, price=as_float(price),
                                   size=as_float(total), extra=dict(extra), **common))
            state = _Order(price, remaining, filled, total)
            prev_remaining = remaining
        else:
            prev_remaining = state.remaining
        ts = update_ts if update_ts is not None else self._fallback_time(
            recv_ts, "msg.last_updated_ts_ms")
        self._last_ts = ts
        if status == "canceled":
            # the size cancelled: what was still resting, whether or not the
            # venue already zeroed remaining_count in this message
            if remaining > ZERO:
                size = remaining
            elif prev_remaining > ZERO:
                size = prev_remaining
            else:
                size = max(ZERO, state.total - filled)
            out.append(self._event(market, "order.canceled", ts, None, price=as_float(price),
                                   size=as_float(size), extra=extra, **common))
            self._orders.pop(order_id, None)
            return out
        if status == "executed":
            self._orders.pop(order_id, None)  # fills come on the fill channel
            return out
        if out:  # first sight: nothing to compare with
            self._orders[order_id] = state
            return out
        total = remaining + filled
        if price != state.price or total != state.total:
            out.append(self._event(market, "order.amended", ts, None, price=as_float(price),
                                   size=as_float(remaining), extra=extra, **common))
        state.price, state.remaining, state.filled, state.total = price, remaining, filled, total
        return out

    # ------------------------------------------------------------------ status and control

    def _lifecycle(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        msg = self._msg(frame)
        market = self._market(msg)
        status = self.market_status.setdefault(market, {})
        # "history" is ours: a venue field of that name must not replace it
        status.update((k, v) for k, v in msg.items() if k not in ("market_ticker", "history"))
        event_type = msg.get("event_type")
        if isinstance(event_type, str):
            status.setdefault("history", []).append(event_type)
            if event_type in ("activated", "deactivated") and "is_deactivated" not in msg:
                status["is_deactivated"] = event_type == "deactivated"
        if recv_ts is not None:
            status["updated_recv_ts"] = recv_ts
        self.stats["lifecycle"] += 1
        return []

    def _event_status(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        msg = self._msg(frame)
        ticker = msg.get("event_ticker")
        if not isinstance(ticker, str) or not ticker:
            raise FrameError("missing event ticker", field="msg.event_ticker")
        status = self.event_status.setdefault(ticker, {})
        status.update((k, v) for k, v in msg.items() if k not in ("event_ticker", "history"))
        status.setdefault("history", []).append(frame["type"])
        return []

    def _subscribed(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        msg = frame.get("msg")
        if isinstance(msg, dict) and type(msg.get("sid")) is int:
            sid = msg["sid"]
            channel = msg.get("channel")
            self.sid_channel[sid] = channel if isinstance(channel, str) else ""
            # a new subscription numbers its messages from scratch
            self.last_seq.pop(sid, None)
            self.sid_markets.pop(sid, None)
        return []

    def _unsubscribed(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        sid = frame.get("sid")
        if type(sid) is int:
            self.last_seq.pop(sid, None)
            self.sid_channel.pop(sid, None)
            self.sid_markets.pop(sid, None)
        return []

    def _ok(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        return []

    def _error(self, frame: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        raw_msg = frame.get("msg")
        msg: dict[str, Any] = raw_msg if isinstance(raw_msg, dict) else {}
        code = msg.get("code")
        sid = frame.get("sid") if type(frame.get("sid")) is int else None
        self.errors.append({"id": frame.get("id"), "sid": sid, "code": code,
                            "msg": msg.get("msg"), "recv_ts": recv_ts})
        self.stats["errors"] += 1
        # type check first: an unhashable code (a list) cannot be looked up in a set
        if type(code) is not int or code not in TERMINAL_ERROR_CODES or sid is None:
            return []
        # a dead subscription (buffer overflow, channel error) lost messages:
        # its books can no longer be trusted
        self.last_seq.pop(sid, None)
        affected = sorted(m for m in self.sid_markets.get(sid, ()) if m in self.synced)
        if not affected:
            return []
        # only sids read by _check_seq have markets: sid is a bounded integer here, and a
        # synced book had a time, so the fallback cannot fail
        ts = self._fallback_time(recv_ts, "recv_ts")
        out = []
        for m in affected:
            self.synced.discard(m)
            self._gap_reported.add(m)
            out.append(self._gap(m, ts, None, {"sid": sid, "channel": _BOOK_CHANNEL,
                                               "reason": "subscription_error", "code": code}))
        return out


__all__ = ["TERMINAL_ERROR_CODES", "VENUE", "KalshiNormalizer", "subaccount_actor"]
