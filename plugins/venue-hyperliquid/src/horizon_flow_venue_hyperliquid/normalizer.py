"""Hyperliquid frames to :class:`MarketEvent` s.

Every shape in ``VENUES.md`` section 3 is recognised by its fields, so one
normalizer reads a WebSocket recording, an info-endpoint response, a node
file or an S3 archive line alike:

=====================================  =============================================
frame                                  events
=====================================  =============================================
WS ``trades``                          per trade: ``order.filled`` for the buyer and
                                       for the seller (``users`` = [buyer, seller],
                                       the other as counterparty, ``aggressor`` on
                                       the taker's side), then one ``trade.tape``
WS ``l2Book``, info ``l2Book``,        ``book.snapshot`` (+ ``quote.update`` when
S3 archive ``{"time","raw"}`` lines    ``quotes_from_l2book``)
WS ``bbo``                             ``quote.update``
WS ``orderUpdates``, info              ``order.placed`` / ``order.amended`` /
``historicalOrders``/``openOrders``/   ``order.canceled`` / ``order.filled`` (see
``frontendOpenOrders``, node           :mod:`.orders`)
``order_statuses``
WS ``userFills``, WS ``user`` fills,   ``order.filled`` per fill (``crossed`` =
info ``userFills``                     taker); ``nonUserCancel``: ``order.canceled``
node ``fills`` (``["0xwallet",{…}]``)  ``order.filled`` per fill, plus ``trade.tape``
                                       from the taker's fill; pairs in one block get
                                       each other as counterparty
node ``trades`` (``side_info``)        like WS ``trades`` (see the side caveat below)
node ``raw_book_diffs``                ``book.delta`` with the level's new total
``*_by_block`` ``{block_time,...,      the events of each inner item, with
events:[…]}``                          ``extra.block_number``
acks, ``pong``, ``allMids``, ``meta``  nothing (``[]``)
=====================================  =============================================

Anything else raises :class:`FrameError` with the reason. In arrays and
blocks one bad item does not lose the others: the good items' events are
returned and the bad item is queued with its reason (:meth:`take_rejects`);
only when no item is good does the whole frame fail.

Identity: wallets are lower-cased everywhere. WS ``orderUpdates`` and
``user`` frames do not name their wallet; the live source adds it as a
top-level ``"user"`` key (one connection per wallet, see :mod:`.source`),
and failing that the owner is looked up from earlier fills of the same oid.

Executions: fill streams (``userFills``, ``user`` fills, node fills) are the
execution records. A ``filled`` order status becomes ``order.filled`` only
for a wallet no fill stream has reported yet (and ``fills_from_status``),
and never for a size a fill already reported; see :mod:`.orders`.

Repeats: a trade seen again (``tid``; ``hash``+time+price+size when ``tid``
is 0 or absent) is dropped, per participant and side, with a bounded memory
(``dedupe_window``); a ``userFills`` snapshot also drops fills older than the
newest fill already received for that wallet. Book snapshots and quotes
older than (or identical to) the last one for a coin are dropped.

``node_trades`` side: in the sample, ``side_info`` is [buyer, seller] (their
``start_pos`` moves that way) and ``side`` is the taker's. VENUES.md warns
that duplicate lines with opposite ``side`` occur, so the taker is trusted
only when it agrees with the order ids (the taker's order is the newer,
larger oid); otherwise ``aggressor`` and the tape ``side`` are left unset and
``extra.side_ambiguous`` is true. Duplicate lines are dropped whatever their
``side``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from decimal import Decimal
from typing import Any, Final

import orjson

from horizon_flow_core.errors import FrameError, preview
from horizon_flow_core.events import MarketEvent

from .bounded import BoundedKeySet, BoundedMap
from .config import HyperliquidConfig
from .fields import (
    MAX_INT,
    VENUE,
    dec,
    fast_num,
    json_value,
    leftovers,
    num,
    oid_str,
    oid_value,
    side,
    text,
    uint,
    wallet,
)
from .l4book import RawBookDiffs
from .orders import OrderTracker
from .timeparse import any_to_ns, iso_to_ns, ms_or_none, ms_to_ns

log = logging.getLogger("horizon_flow.venue.hyperliquid")

#: Channels that are understood and carry no market event.
SILENT_CHANNELS: Final = frozenset({
    "subscriptionResponse", "pong", "allMids", "notification", "webData2", "candle",
    "activeAssetCtx", "activeAssetData", "userFundings", "userNonFundingLedgerUpdates",
})

_TRADE_MAPPED: Final = frozenset({"coin", "side", "px", "sz", "hash", "time", "users"})
_FILL_MAPPED: Final = frozenset({"coin", "px", "sz", "side", "time", "hash", "oid", "crossed"})
_NODE_TRADE_MAPPED: Final = frozenset({"coin", "side", "px", "sz", "hash", "time", "side_info"})
_SIDE_INFO_MAPPED: Final = frozenset({"user", "oid"})
_BOOK_MAPPED: Final = frozenset({"coin", "time", "levels"})
_BBO_MAPPED: Final = frozenset({"coin", "time", "bbo"})
_STATUS_MAPPED: Final = frozenset({"order", "status", "statusTimestamp", "time", "user"})
_FILL_KEYS: Final = frozenset({"coin", "px", "sz", "side", "time"})
_OPEN_ORDER_KEYS: Final = frozenset({"coin", "limitPx", "oid", "side", "sz"})
# frontendOpenOrders nests TP/SL orders one level deep; deeper nesting is refused.
_MAX_CHILD_DEPTH: Final = 4
_INT_ONLY: Final = frozenset({int})


def _no_tid(tid: Any) -> bool:
    return tid is None or tid == 0 or tid == "0" or tid == ""


class HyperliquidNormalizer:
    """Stateful frame normalizer; one instance per stream (or per live source)."""

    venue = VENUE

    def __init__(self, config: HyperliquidConfig | None = None) -> None:
        cfg = config if config is not None else HyperliquidConfig()
        self.config = cfg
        self._seen: BoundedKeySet[Hashable] = BoundedKeySet(cfg.dedupe_window)
        self._accounted: BoundedKeySet[Hashable] = BoundedKeySet(cfg.dedupe_window)
        self.orders = OrderTracker(cfg.max_tracked_orders)
        self.book_diffs = RawBookDiffs(cfg.max_tracked_orders)
        self._oid_wallet: BoundedMap[str, str] = BoundedMap(cfg.max_tracked_orders)
        self._last_book: dict[str, tuple[int, list[Any], list[Any]]] = {}
        self._last_bbo: dict[str, tuple[int, Any]] = {}
        self._fill_hwm: dict[str, int] = {}
        # Wallets a fill stream reports: their ``filled`` statuses are not executions.
        self._fill_stream_wallets: BoundedKeySet[str] = BoundedKeySet(cfg.max_tracked_orders)
        self._rejects: list[tuple[str, Any]] = []
        #: repeats dropped (trades, fills, books, quotes)
        self.duplicates = 0

    # ------------------------------------------------------------------ entry points

    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        """Events of one frame (object, array, JSON text or bytes) as received."""
        frame = self._decode(frame)
        if type(frame) is dict:
            return self._object(frame, recv_ts)
        if type(frame) is list:
            return self._array(frame, recv_ts, "array")
        raise FrameError(f"expected a JSON object or array, got {type(frame).__name__} "
                         f"{preview(frame)}")

    def take_rejects(self) -> list[tuple[str, Any]]:
        """Items dropped from frames that were otherwise good: ``(reason, item)``, then cleared."""
        out, self._rejects = self._rejects, []
        return out

    # ------------------------------------------------------------------ dispatch

    @staticmethod
    def _decode(frame: Any) -> Any:
        if isinstance(frame, (bytes, bytearray, memoryview)):
            frame = bytes(frame).decode("utf-8", errors="replace")
        if isinstance(frame, str):
            body = frame.strip()
            if not body:
                raise FrameError("empty frame")
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise FrameError(f"not JSON ({exc.msg}): {preview(body, 60)}") from None
        return frame

    def _object(self, d: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        channel = d.get("channel")
        if channel is not None:
            if type(channel) is not str:
                raise FrameError(f"expected a channel name, got {preview(channel)}",
                                 field="channel")
            return self._channel(channel, d, recv_ts)
        if "raw" in d and ("ver_num" in d or "time" in d):
            return self._archive_line(d)
        if "events" in d and ("block_number" in d or "block_time" in d):
            return self._block(d, recv_ts)
        events = self._item(d, recv_ts, None, "frame")
        if events is None:
            keys = ", ".join(sorted(map(str, d))[:10])
            raise FrameError(f"unknown Hyperliquid frame shape (fields: {keys})")
        return events

    def _item(self, d: dict[str, Any], recv_ts: int | None, wallet_hint: str | None,
              where: str) -> list[MarketEvent] | None:
        """Events of one node line, info item or body; None when the shape is not known."""
        keys = d.keys()
        if "side_info" in d:
            return self._node_trade(d, where)
        if "raw_book_diff" in d:
            return self._book_diff(d, recv_ts, where)
        if "order" in d and "status" in d:
            return self._status_item(d, recv_ts, wallet_hint, where)
        if "levels" in d and "coin" in d:
            return self._l2book(d, recv_ts, where)
        if "users" in d and _FILL_KEYS <= keys:
            return self._trade(d, where)
        if _FILL_KEYS <= keys and ("oid" in d or "tid" in d or "crossed" in d):
            return self._fill(d, wallet_hint, where, tape=False)
        if _OPEN_ORDER_KEYS <= keys:
            return self._open_order(d, recv_ts, wallet_hint, where)
        if "universe" in d:
            return []  # info ``meta``: the coin list, no market event
        if "mids" in d or (d and all(type(v) is str for v in d.values())
                           and all(_is_decimal(v) for v in d.values())):
            return []  # ``allMids``: mid prices are not quotes (no sizes, no sides)
        return None

    def _channel(self, channel: str, d: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        if channel in SILENT_CHANNELS:
            return []
        data = d.get("data")
        if channel == "error":
            raise FrameError(f"venue sent an error: {preview(data, 200)}")
        if channel == "trades":
            return self._each(_as_list(data, "trades.data"), "trades",
                              lambda t, w: self._trade(_as_dict(t, w), w))
        if channel == "l2Book":
            return self._l2book(_as_dict(data, "l2Book.data"), recv_ts, "l2Book")
        if channel == "bbo":
            return self._bbo(_as_dict(data, "bbo.data"), "bbo")
        if channel == "orderUpdates":
            hint = _wallet_hint(d)
            return self._each(_as_list(data, "orderUpdates.data"), "orderUpdates",
                              lambda s, w: self._status_item(_as_dict(s, w), recv_ts, hint, w))
        if channel == "userFills":
            return self._user_fills(_as_dict(data, "userFills.data"), _wallet_hint(d))
        if channel in ("user", "userEvents"):
            return self._user_events(_as_dict(data, f"{channel}.data"), _wallet_hint(d), recv_ts)
        raise FrameError(f"unknown channel {preview(channel)}", field="channel")

    def _array(self, items: list[Any], recv_ts: int | None, where: str) -> list[MarketEvent]:
        if not items:
            return []
        if len(items) == 2 and type(items[0]) is str and type(items[1]) is dict:
            return self._node_fill(items, None, where)  # node_fills line: ["0xwallet", {fill}]

        def one(item: Any, w: str, depth: int = 0) -> list[MarketEvent]:
            if type(item) is list:
                if len(item) == 2 and type(item[0]) is str and type(item[1]) is dict:
                    return self._node_fill(item, None, w)
                raise FrameError(f"{w}: expected an object or a [wallet, fill] pair")
            events = self._item(_as_dict(item, w), recv_ts, None, w)
            if events is None:
                keys = ", ".join(sorted(map(str, item))[:10])
                raise FrameError(f"{w}: unknown item shape (fields: {keys})")
            # frontendOpenOrders nests TP/SL orders as children; their own
            # entries repeat at top level and the tracker drops repeats.
            children = item.get("children")
            if type(children) is list and children and "limitPx" in item and "status" not in item:
                if depth >= _MAX_CHILD_DEPTH:
                    raise FrameError(f"{w}: children nested deeper than {_MAX_CHILD_DEPTH} "
                                     "levels", field="children")
                for i, child in enumerate(children):
                    events.extend(one(child, f"{w}.children[{i}]", depth + 1))
            return events

        events = self._each(items, where, one)
        # Info responses list newest first; events go out in time order.
        events.sort(key=lambda e: e.ts)
        return events

    def _each(self, items: list[Any], where: str,
              fn: Callable[[Any, str], list[MarketEvent]]) -> list[MarketEvent]:
        """Apply ``fn`` to every item; a bad item is queued as a reject unless all are bad."""
        out: list[MarketEvent] = []
        first_error: FrameError | None = None
        good = 0
        queued = len(self._rejects)
        for i, item in enumerate(items):
            try:
                out.extend(fn(item, f"{where}[{i}]"))
                good += 1
            except FrameError as exc:
                if first_error is None:
                    first_error = exc
                self._rejects.append((str(exc), item))
                # Callers that do not ask for take_rejects() still see it.
                log.warning("hyperliquid: dropped one item of a frame: %s", exc)
        if first_error is not None and good == 0:
            del self._rejects[queued:]  # the whole frame is the reject
            raise first_error
        return out

    # ------------------------------------------------------------------ trades and fills

    def _trade(self, t: dict[str, Any], where: str) -> list[MarketEvent]:
        coin = text(t, "coin", where)
        taker = side(t.get("side"), "side", where)
        price = num(t.get("px"), "px", where)
        size = num(t.get("sz"), "sz", where)
        ts = ms_to_ns(t.get("time"), "time")
        tx = t.get("hash") if type(t.get("hash")) is str else None
        base = self._trade_key(coin, t.get("tid"), tx, ts, price, size, None)
        extra = leftovers(t, _TRADE_MAPPED, where)
        out: list[MarketEvent] = []
        users = t.get("users")
        if users is not None:
            if type(users) is not list or len(users) != 2:
                raise FrameError(f"{where}: users must be [buyer, seller]", field="users")
            buyer = wallet(users[0], "users[0]", where)
            seller = wallet(users[1], "users[1]", where)
            for actor, other, sd in ((buyer, seller, "buy"), (seller, buyer, "sell")):
                ev = self._execution(coin, ts, price, size, sd, actor, other, None,
                                     sd == taker, tx, base, dict(extra))
                if ev is not None:
                    out.append(ev)
        tape = self._tape(coin, ts, price, size, taker, tx, base, dict(extra))
        if tape is not None:
            out.append(tape)
        return out

    def _fill(self, f: dict[str, Any], owner: str | None, where: str, *, tape: bool,
              counterparty: str | None = None) -> list[MarketEvent]:
        """One wallet's fill (WsFill): ``order.filled``, and the tape print when asked."""
        coin = text(f, "coin", where)
        sd = side(f.get("side"), "side", where)
        price = num(f.get("px"), "px", where)
        size = num(f.get("sz"), "sz", where)
        ts = ms_to_ns(f.get("time"), "time")
        tx = f.get("hash") if type(f.get("hash")) is str else None
        raw_oid = f.get("oid")
        oid = oid_str(raw_oid, "oid", where) if raw_oid is not None else None
        if owner is None and oid is not None:
            owner = self._oid_wallet.get(oid)
        crossed = f.get("crossed")
        aggressor = crossed if type(crossed) is bool else None
        base = self._trade_key(coin, f.get("tid"), tx, ts, price, size, oid)
        extra = leftovers(f, _FILL_MAPPED, where)
        out: list[MarketEvent] = []
        ev = self._execution(coin, ts, price, size, sd, owner, counterparty, oid, aggressor, tx,
                             base, extra, size_text=f.get("sz"))
        if ev is not None:
            out.append(ev)
        if tape and aggressor is True:
            print_ = self._tape(coin, ts, price, size, sd, tx, base, leftovers(
                extra, ("dir", "closedPnl", "fee", "feeToken", "startPosition", "cloid",
                        "builderFee", "liquidation", "twapId")))
            if print_ is not None:
                out.append(print_)
        return out

    def _user_fills(self, data: dict[str, Any], hint: str | None) -> list[MarketEvent]:
        user = data.get("user")
        owner = wallet(user, "userFills.data.user", "userFills") if user is not None else hint
        fills = _as_list(data.get("fills"), "userFills.data.fills")
        if owner is not None:
            self._fill_stream_wallets.add(owner)
        snapshot = data.get("isSnapshot") is True
        if snapshot:
            # Snapshots list newest first; a reconnect resends fills already emitted.
            # Fills without a valid time sort first; ``one`` rejects them one by one.
            fills = sorted(fills, key=_fill_time_key)
        hwm = self._fill_hwm.get(owner) if owner is not None else None

        def one(f: Any, w: str) -> list[MarketEvent]:
            f = _as_dict(f, w)
            if snapshot and hwm is not None and ms_to_ns(f.get("time"), "time") < hwm:
                self.duplicates += 1
                return []
            events = self._fill(f, owner, w, tape=False)
            for ev in events:
                if snapshot:
                    ev.extra = {**(ev.extra or {}), "snapshot": True}
            return events

        events = self._each(fills, "userFills.fills", one)
        if owner is not None:
            for ev in events:
                if ev.ts > self._fill_hwm.get(owner, -1):
                    self._fill_hwm[owner] = ev.ts
        return events

    def _user_events(self, data: dict[str, Any], hint: str | None,
                     recv_ts: int | None) -> list[MarketEvent]:
        if "fills" in data:
            if hint is not None:
                self._fill_stream_wallets.add(hint)
            return self._each(_as_list(data["fills"], "user.data.fills"), "user.fills",
                              lambda f, w: self._fill(_as_dict(f, w), hint, w, tape=False))
        if "nonUserCancel" in data:
            if recv_ts is None:
                raise FrameError("nonUserCancel carries no time and no receive time was given")
            return self._each(_as_list(data["nonUserCancel"], "user.data.nonUserCancel"),
                              "user.nonUserCancel",
                              lambda c, w: self._non_user_cancel(_as_dict(c, w), hint,
                                                                 recv_ts, w))
        if "funding" in data or "liquidation" in data:
            # No market event: funding is a payment, and a liquidation's
            # executions arrive as fills carrying the ``liquidation`` block.
            return []
        keys = ", ".join(sorted(map(str, data))[:10])
        raise FrameError(f"unknown userEvents payload (fields: {keys})", field="data")

    def _non_user_cancel(self, c: dict[str, Any], hint: str | None, ts: int,
                         where: str) -> list[MarketEvent]:
        oid = oid_str(c.get("oid"), "oid", where)
        coin = text(c, "coin", where)
        owner = hint or self._oid_wallet.get(oid)
        extra = {**leftovers(c, ("coin", "oid"), where), "status": "nonUserCancel"}
        return self.orders.on_external_cancel(oid, coin, ts, owner, extra)

    def _node_fill(self, pair: list[Any], counterparty: str | None,
                   where: str) -> list[MarketEvent]:
        owner = wallet(pair[0], "[0]", where)
        self._fill_stream_wallets.add(owner)
        return self._fill(pair[1], owner, where, tape=True, counterparty=counterparty)

    def _node_trade(self, t: dict[str, Any], where: str) -> list[MarketEvent]:
        coin = text(t, "coin", where)
        stated = side(t.get("side"), "side", where)
        price = num(t.get("px"), "px", where)
        size = num(t.get("sz"), "sz", where)
        ts = iso_to_ns(t.get("time"), "time")
        tx = t.get("hash") if type(t.get("hash")) is str else None
        info = t.get("side_info")
        if type(info) is not list or len(info) != 2 or not all(type(s) is dict for s in info):
            raise FrameError(f"{where}: side_info must be two objects [buyer, seller]",
                             field="side_info")
        buyer = wallet(info[0].get("user"), "side_info[0].user", where)
        seller = wallet(info[1].get("user"), "side_info[1].user", where)
        b_oid = oid_str(info[0].get("oid"), "side_info[0].oid", where)
        s_oid = oid_str(info[1].get("oid"), "side_info[1].oid", where)
        taker: str | None = stated
        extra = leftovers(t, _NODE_TRADE_MAPPED, where)
        parts = (leftovers(info[0], _SIDE_INFO_MAPPED, f"{where}.side_info[0]"),
                 leftovers(info[1], _SIDE_INFO_MAPPED, f"{where}.side_info[1]"))
        b_num, s_num = uint(b_oid), uint(s_oid)
        if b_num is not None and s_num is not None and b_num != s_num:
            by_oid = "buy" if b_num > s_num else "sell"
            if by_oid != stated:
                taker = None
                extra["side_ambiguous"] = True
                extra["side"] = t.get("side")
        # No tid in this format: the key is the content, independent of ``side``
        # (duplicate lines with opposite sides are one trade).
        base = ("node", coin, tx, ts, price, size, tuple(sorted((b_oid, s_oid))))
        out: list[MarketEvent] = []
        for actor, other, oid, sd, part in ((buyer, seller, b_oid, "buy", parts[0]),
                                            (seller, buyer, s_oid, "sell", parts[1])):
            aggressor = None if taker is None else sd == taker
            ev = self._execution(coin, ts, price, size, sd, actor, other, oid, aggressor, tx,
                                 base, {**extra, **part}, size_text=t.get("sz"))
            if ev is not None:
                out.append(ev)
        tape = self._tape(coin, ts, price, size, taker, tx, base, dict(extra))
        if tape is not None:
            out.append(tape)
        return out

    def _trade_key(self, coin: str, tid: Any, tx: str | None, ts: int, price: float,
                   size: float, oid: str | None) -> Hashable:
        if not _no_tid(tid) and type(tid) in (int, str):
            return (coin, tid)
        # tid 0 marks venue-made fills (spot dust conversions) whose hash is all
        # zeros too: only the content tells them apart.
        return (coin, tx, ts, price, size, oid)

    def _execution(self, coin: str, ts: int, price: float, size: float, sd: str,
                   actor: str | None, counterparty: str | None, oid: str | None,
                   aggressor: bool | None, tx: str | None, base: Hashable,
                   extra: dict[str, Any], size_text: Any = None) -> MarketEvent | None:
        """One participant's ``order.filled``, or None when it was already emitted."""
        key = ("fill", base, actor, sd)
        order_id = oid
        emit = True
        if oid is not None:
            if actor is not None:
                self._oid_wallet[oid] = actor
            if self._accounted.add(key):
                amount = dec(size_text if size_text is not None else size, "sz", "fill")
                emit, stable, _ = self.orders.on_fill(oid, amount)
            else:
                stable = self.orders.order_id_of(oid)
            if stable is not None and stable != oid:
                order_id = stable
                extra["oid"] = oid_value(oid)
        if not self._seen.add(key) or not emit:
            self.duplicates += 1
            return None
        return MarketEvent(VENUE, coin, "order.filled", ts, actor_id=actor,
                           counterparty_id=counterparty, order_id=order_id, side=sd,
                           price=price, size=size, aggressor=aggressor, tx_hash=tx,
                           extra=extra or None)

    def _tape(self, coin: str, ts: int, price: float, size: float, taker: str | None,
              tx: str | None, base: Hashable, extra: dict[str, Any]) -> MarketEvent | None:
        if not self._seen.add(("tape", base)):
            self.duplicates += 1
            return None
        return MarketEvent(VENUE, coin, "trade.tape", ts, side=taker, price=price, size=size,
                           tx_hash=tx, extra=extra or None)

    # ------------------------------------------------------------------ books and quotes

    def _l2book(self, data: dict[str, Any], recv_ts: int | None, where: str) -> list[MarketEvent]:
        coin = text(data, "coin", where)
        if "time" in data:
            ts = ms_to_ns(data["time"], "time")
        elif recv_ts is not None:
            ts = recv_ts
        else:
            raise FrameError(f"{where}: no time in the book and no receive time", field="time")
        levels = data.get("levels")
        if type(levels) is not list or len(levels) != 2:
            raise FrameError(f"{where}: levels must be [bids, asks]", field="levels")
        bids, bid_n = _levels(levels[0], f"{where}.levels[0]")
        asks, ask_n = _levels(levels[1], f"{where}.levels[1]")
        # checked before the frame counts as seen: a rejected frame's corrected
        # re-send must not be dropped as its duplicate
        extra = leftovers(data, _BOOK_MAPPED, where)
        last = self._last_book.get(coin)
        if last is not None and (ts < last[0] or (ts == last[0] and last[1] == bids
                                                  and last[2] == asks)):
            self.duplicates += 1
            return []
        self._last_book[coin] = (ts, bids, asks)
        if bid_n or ask_n:
            extra["bid_orders"] = bid_n
            extra["ask_orders"] = ask_n
        out = [MarketEvent(VENUE, coin, "book.snapshot", ts, bids=bids, asks=asks,
                           extra=extra or None)]
        if self.config.quotes_from_l2book and (bids or asks):
            out.append(MarketEvent(
                VENUE, coin, "quote.update", ts,
                bid=bids[0][0] if bids else None, bid_size=bids[0][1] if bids else None,
                ask=asks[0][0] if asks else None, ask_size=asks[0][1] if asks else None,
                extra={"from": "l2Book"}))
        return out

    def _bbo(self, data: dict[str, Any], where: str) -> list[MarketEvent]:
        coin = text(data, "coin", where)
        ts = ms_to_ns(data.get("time"), "time")
        pair = data.get("bbo")
        if type(pair) is not list or len(pair) != 2:
            raise FrameError(f"{where}: bbo must be [bid or null, ask or null]", field="bbo")
        quote: list[float | None] = []
        counts: dict[str, Any] = {}
        for i, name in ((0, "bid"), (1, "ask")):
            lv = pair[i]
            if lv is None:
                quote += [None, None]
                continue
            lv = _as_dict(lv, f"{where}.bbo[{i}]")
            quote += [num(lv.get("px"), f"bbo[{i}].px", where),
                      num(lv.get("sz"), f"bbo[{i}].sz", where)]
            if "n" in lv:
                json_value(lv["n"], f"bbo[{i}].n", where)
                counts[f"{name}_orders"] = lv["n"]
        if quote[0] is None and quote[2] is None:
            return []  # both sides empty: nothing to quote
        state = tuple(quote)
        extra = {**leftovers(data, _BBO_MAPPED, where), **counts}  # before it counts as seen
        last = self._last_bbo.get(coin)
        if last is not None and (ts < last[0] or (ts == last[0] and last[1] == state)):
            self.duplicates += 1
            return []
        self._last_bbo[coin] = (ts, state)
        return [MarketEvent(VENUE, coin, "quote.update", ts, bid=quote[0], bid_size=quote[1],
                            ask=quote[2], ask_size=quote[3], extra=extra or None)]

    def _book_diff(self, d: dict[str, Any], recv_ts: int | None,
                   where: str) -> list[MarketEvent]:
        if "time" in d:
            ts = any_to_ns(d["time"], "time")
        elif recv_ts is not None:
            ts = recv_ts
        else:
            raise FrameError(f"{where}: book diff without a time (read it inside its block)",
                             field="time")
        raw_oid = d.get("oid")
        fallback = None
        if raw_oid is not None:
            fallback = self.orders.side_of(oid_str(raw_oid, "oid", where))
        return self.book_diffs.apply(d, ts, fallback, {}, where)

    # ------------------------------------------------------------------ orders

    def _status_item(self, d: dict[str, Any], recv_ts: int | None, hint: str | None,
                     where: str) -> list[MarketEvent]:
        order = _as_dict(d.get("order"), f"{where}.order")
        status = d.get("status")
        if type(status) is not str or not status:
            raise FrameError(f"{where}: expected a status string, got {preview(status)}",
                             field="status")
        if "time" in d:
            ts = any_to_ns(d["time"], "time")  # node order_statuses: ISO
        elif "statusTimestamp" in d:
            ts = ms_to_ns(d["statusTimestamp"], "statusTimestamp")
        elif "timestamp" in order:
            ts = ms_to_ns(order["timestamp"], "order.timestamp")
        elif recv_ts is not None:
            ts = recv_ts
        else:
            raise FrameError(f"{where}: no time in the order status", field="statusTimestamp")
        user = d.get("user")
        owner = wallet(user, "user", where) if user is not None else hint
        raw_oid = order.get("oid")
        if raw_oid is not None:
            oid = oid_str(raw_oid, "order.oid", where)
            if owner is None:
                owner = self._oid_wallet.get(oid)
            else:
                self._oid_wallet[oid] = owner
        report = self.config.fills_from_status and (owner is None
                                                    or owner not in self._fill_stream_wallets)
        return self.orders.on_status(order, status, ts, owner,
                                     leftovers(d, _STATUS_MAPPED, where), where,
                                     report_fills=report)

    def _open_order(self, o: dict[str, Any], recv_ts: int | None, hint: str | None,
                    where: str) -> list[MarketEvent]:
        """An info ``openOrders``/``frontendOpenOrders`` entry: an order resting now."""
        if "timestamp" in o:
            ts = ms_to_ns(o["timestamp"], "timestamp")
        elif recv_ts is not None:
            ts = recv_ts
        else:
            raise FrameError(f"{where}: open order without a timestamp", field="timestamp")
        owner = hint or self._oid_wallet.get(oid_str(o.get("oid"), "oid", where))
        return self.orders.on_status(o, "open", ts, owner, {}, where)

    # ------------------------------------------------------------------ wrappers

    def _archive_line(self, d: dict[str, Any]) -> list[MarketEvent]:
        """S3 ``market_data`` line: ``{"time": ISO, "ver_num": 1, "raw": <WS frame>}``."""
        raw = d.get("raw")
        if type(raw) is not dict:
            raise FrameError("archive line: raw must be the archived WebSocket frame",
                             field="raw")
        if "raw" in raw or "events" in raw:
            raise FrameError("archive line: raw must be a WebSocket frame, not another "
                             "archive line or block", field="raw")
        recorded = iso_to_ns(d.get("time"), "time") if "time" in d else None
        return self._object(raw, recorded)

    def _block(self, d: dict[str, Any], recv_ts: int | None) -> list[MarketEvent]:
        """A ``*_by_block`` line: ``{local_time, block_time, block_number, events:[…]}``."""
        if "block_time" in d:
            block_ts: int | None = any_to_ns(d["block_time"], "block_time")
        elif "local_time" in d:
            block_ts = any_to_ns(d["local_time"], "local_time")
        else:
            block_ts = recv_ts
        number = d.get("block_number")
        if number is not None and (type(number) is not int or not 0 <= number <= MAX_INT):
            raise FrameError(f"block_number must be a 64-bit integer, got {preview(number)}",
                             field="block_number")
        items = _as_list(d.get("events"), "events")
        # Fills of one execution come in pairs within a block: each side gets the
        # other wallet as counterparty.
        wallets_by_trade: dict[Hashable, list[str]] = {}
        for item in items:
            if _is_node_fill(item):
                key = _pair_key(item[1])
                if key is not None:
                    wallets_by_trade.setdefault(key, []).append(item[0].lower())

        def one(item: Any, w: str) -> list[MarketEvent]:
            if type(item) is list:
                if not _is_node_fill(item):
                    raise FrameError(f"{w}: expected a [wallet, fill] pair or an object")
                owner = item[0].lower()
                key = _pair_key(item[1])
                pair = wallets_by_trade.get(key, []) if key is not None else []
                others = [x for x in pair if x != owner]
                cp = others[0] if len(pair) == 2 and len(others) == 1 else None
                events = self._node_fill(item, cp, w)
            else:
                found = self._item(_as_dict(item, w), block_ts, None, w)
                if found is None:
                    keys = ", ".join(sorted(map(str, item))[:10])
                    raise FrameError(f"{w}: unknown block event shape (fields: {keys})")
                events = found
            if number is not None:
                for ev in events:
                    ev.extra = {**(ev.extra or {}), "block_number": number}
            return events

        return self._each(items, "events", one)


# ---------------------------------------------------------------------- helpers


def _as_dict(value: Any, where: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise FrameError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _as_list(value: Any, where: str) -> list[Any]:
    if type(value) is not list:
        raise FrameError(f"{where}: expected an array, got {type(value).__name__}")
    return value


def _wallet_hint(d: dict[str, Any]) -> str | None:
    user = d.get("user")
    return user.lower() if type(user) is str and user else None


def _is_node_fill(item: Any) -> bool:
    return (type(item) is list and len(item) == 2 and type(item[0]) is str
            and type(item[1]) is dict)


def _pair_key(fill: dict[str, Any]) -> tuple[str, int | str] | None:
    """``(coin, tid)`` pairing the two sides of a node fill; None when either is unusable
    (the fill itself is then checked, and refused, field by field)."""
    coin = fill.get("coin")
    tid = fill.get("tid")
    if type(coin) is not str or type(tid) not in (int, str) or _no_tid(tid):
        return None
    return (coin, tid)


def _fill_time_key(fill: Any) -> int:
    """Sort key of a snapshot fill: its time in ns, -1 when it has no valid time."""
    ns = ms_or_none(fill.get("time")) if type(fill) is dict else None
    return -1 if ns is None else ns


def _is_decimal(value: str) -> bool:
    try:
        Decimal(value)
    except ArithmeticError:
        return False
    return True


def _levels(side_levels: Any, where: str) -> tuple[list[tuple[float, float]], list[Any]]:
    if type(side_levels) is not list:
        raise FrameError(f"{where}: expected a list of levels")
    out: list[tuple[float, float]] = []
    counts: list[Any] = []
    try:  # the hot path: no message strings unless something is wrong
        for lv in side_levels:
            out.append((fast_num(lv["px"]), fast_num(lv["sz"])))
            if "n" in lv:
                counts.append(lv["n"])
    except (KeyError, TypeError, ValueError):
        for i, lv in enumerate(side_levels):  # find the bad level and say what is wrong
            lv = _as_dict(lv, f"{where}[{i}]")
            num(lv.get("px"), "px", f"{where}[{i}]")
            num(lv.get("sz"), "sz", f"{where}[{i}]")
        raise FrameError(f"{where}: malformed level") from None
    # Order counts go to ``extra``: they must be writable (checked in C when all are ints).
    if counts and (not _INT_ONLY.issuperset(map(type, counts))
                   or min(counts) < 0 or max(counts) > MAX_INT):
        for c in counts:
            json_value(c, "n", where)
    return out, counts
