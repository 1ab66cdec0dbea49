"""The authenticated user channel: ``order`` and ``trade`` frames of one's own account.

``order`` (``actor_id`` = ``maker_address``, lower-cased):

* ``PLACEMENT`` -> ``order.placed`` (size = ``original_size``).
* ``UPDATE`` -> ``order.amended`` with ``size`` = the remaining size
  (``original_size - size_matched``). An UPDATE reports match progress; the
  execution itself (with its counterparties) arrives as a ``trade`` frame and
  becomes ``order.filled`` there, so emitting a fill here would count one
  execution's volume twice. ``extra.size_matched`` and ``extra.filled_delta``
  keep the progress visible.
* ``CANCELLATION`` (or a ``CANCELED*`` status, e.g. FOK kills) ->
  ``order.canceled`` with ``size`` = the size cancelled (the unmatched rest).

``trade``: the top-level fields describe the taker order (``maker_address`` is
the taker's wallet, ``side`` its side); ``maker_orders[]`` are the resting
orders it hit. Each maker order gives the same pair the chain gives for a
maker ``OrderFilled`` leg: one ``order.filled`` for the maker (its own order id
and side, ``aggressor`` false) and one for the taker (``counterparty_id`` = that
maker, the opposite side, ``aggressor`` true), both on the maker order's token
at the maker's price. A maker on the *complementary* token (a NO buyer at
0.482 against a YES buyer at 0.518: a MINT; two sellers: a MERGE) keeps its own
token and side, and the taker's leg is the opposite side on that token, which
is economically equivalent (BUY YES at p = SELL NO at 1-p); ``extra`` then
carries ``complementary``, ``taker_asset_id``, ``taker_side`` and
``taker_price``. The same trade id re-arrives as its status moves
MATCHED -> MINED -> CONFIRMED (or FAILED): only the first frame emits; later
ones update ``trade_status``.
"""

from __future__ import annotations

from typing import Any

from horizon_flow_core.errors import FrameError, preview
from horizon_flow_core.events import MarketEvent

from .convert import epoch_to_ns, frame_ts, num, opposite, scalar, side, text, tx_hash
from .state import NormalizerState, event


def _address(frame: dict[str, Any], name: str) -> str:
    value = text(frame, name)
    assert value is not None
    return value.lower()


def _kind(kind_raw: str, status: str, frame: dict[str, Any]) -> str:
    if kind_raw == "PLACEMENT":
        return "order.placed"
    if kind_raw == "CANCELLATION" or status.upper().startswith("CANCELED"):
        return "order.canceled"
    if kind_raw == "UPDATE":
        return "order.amended"
    raise FrameError(f"unknown order message type {preview(frame.get('type'))}", field="type")


def order(frame: dict[str, Any], recv_ts: int | None, st: NormalizerState) -> list[MarketEvent]:
    kind_raw = (text(frame, "type", required=False) or "").upper()
    status = text(frame, "status", required=False) or ""
    kind = _kind(kind_raw, status, frame)
    asset = text(frame, "asset_id")
    order_id = text(frame, "id")
    assert asset is not None and order_id is not None
    actor = _address(frame, "maker_address")
    ts = frame_ts(frame, recv_ts, "timestamp", "created_at")
    s = side(frame)
    price = num(frame, "price")
    original = num(frame, "original_size")
    matched = num(frame, "size_matched", required=False) or 0.0
    assert original is not None
    extra = st.extra(asset, text(frame, "market", required=False))
    for name in ("order_type", "outcome", "owner"):
        value = scalar(frame, name)
        if value:
            extra[name] = value
    if status:
        extra["status"] = status
    if frame.get("created_at") not in (None, "", 0, "0"):
        extra["created_at"] = epoch_to_ns(frame["created_at"], "created_at")
    remaining = max(original - matched, 0.0)
    key = ("order_matched", order_id)
    previous = st.trade_status.get(key)
    st.trade_status.put(key, matched)
    if kind == "order.placed":
        return [event(asset, kind, ts, actor_id=actor, order_id=order_id, side=s,
                      price=price, size=original, extra=extra)]
    if kind == "order.amended":
        extra["size_matched"] = matched
        extra["filled_delta"] = matched - (previous if isinstance(previous, float) else 0.0)
    return [event(asset, kind, ts, actor_id=actor, order_id=order_id, side=s,
                  price=price, size=remaining, extra=extra)]


def trade(frame: dict[str, Any], recv_ts: int | None, st: NormalizerState) -> list[MarketEvent]:
    trade_id = text(frame, "id")
    asset = text(frame, "asset_id")
    assert trade_id is not None and asset is not None
    taker = _address(frame, "maker_address")
    taker_side = side(frame)
    assert taker_side is not None
    taker_price = num(frame, "price")
    ts = frame_ts(frame, recv_ts, "match_time", "timestamp")
    taker_order = text(frame, "taker_order_id", required=False)
    condition = text(frame, "market", required=False)
    trader_side = scalar(frame, "trader_side")
    taker_fee = num(frame, "fee_rate_bps", required=False, signed=True)
    tx = tx_hash(frame, "transaction_hash")
    status = text(frame, "status", required=False) or ""
    makers = frame.get("maker_orders")
    if not isinstance(makers, list) or not makers:
        raise FrameError("missing or empty; a trade needs its maker orders", field="maker_orders")
    parsed = []
    for i, m in enumerate(makers):
        field = f"maker_orders[{i}]"
        if not isinstance(m, dict):
            raise FrameError(f"expected an object, got {type(m).__name__}", field=field)
        try:
            m_asset = text(m, "asset_id", required=False) or asset
            m_side = side(m, required=False)
            parsed.append((_address(m, "maker_address"), m_asset, text(m, "order_id"),
                           num(m, "price"), num(m, "matched_amount"), m_side,
                           num(m, "fee_rate_bps", required=False, signed=True)))
        except FrameError as exc:
            raise FrameError(exc.reason, field=f"{field}.{exc.field}") from None

    first = st.trade_status.get(("trade", trade_id)) is None
    st.trade_status.put(("trade", trade_id), status or "?")
    if not first:
        st.counters["trade_status_update"] += 1
        return []

    out: list[MarketEvent] = []
    for maker, m_asset, m_order, m_price, m_size, m_side, m_fee in parsed:
        complementary = m_asset != asset
        if m_side is None:  # older frames: derive from the taker's side
            m_side = taker_side if complementary else opposite(taker_side)
        base = st.extra(m_asset, condition)
        base["source"] = "user"
        base["trade_id"] = trade_id
        if status:
            base["status"] = status
        if trader_side:
            base["trader_side"] = trader_side
        st.join_tape(tx, base)
        if complementary:
            base.update(complementary=True, taker_asset_id=asset, taker_side=taker_side,
                        taker_price=taker_price)
        maker_extra = dict(base, leg="maker")
        if m_fee is not None:
            maker_extra["fee_rate_bps"] = m_fee
        taker_extra = dict(base, leg="taker")
        if taker_fee is not None:
            taker_extra["fee_rate_bps"] = taker_fee
        out.append(event(m_asset, "order.filled", ts, actor_id=maker, counterparty_id=taker,
                         order_id=m_order, side=m_side, price=m_price, size=m_size,
                         aggressor=False, tx_hash=tx, extra=maker_extra))
        out.append(event(m_asset, "order.filled", ts, actor_id=taker, counterparty_id=maker,
                         order_id=taker_order, side=opposite(m_side),
                         price=m_price, size=m_size, aggressor=True, tx_hash=tx,
                         extra=taker_extra))
    return out


HANDLERS = {"order": order, "trade": trade}
