"""The public CLOB market channel: ``book``, ``price_change``, ``last_trade_price``...

* ``book`` -> ``book.snapshot``. Polymarket sends bids ascending and asks
  descending (best level LAST); levels are sorted best first here, which also
  accepts any other order.
* ``price_change`` -> one ``book.delta`` per change (``size`` is the new level
  total; 0 removes it), in all three shapes: the current ``price_changes[]``
  (since 2025-09-15; several assets per frame, with ``best_bid``/``best_ask``,
  which also give one ``quote.update`` per asset per frame), the documented
  legacy ``changes[]`` and the 2024 flat single-change form.
* ``last_trade_price`` -> ``trade.tape`` (side = the taker's), with
  ``tx_hash`` when the frame has ``transaction_hash`` (2026+).
* ``best_bid_ask`` -> ``quote.update``.
* ``tick_size_change``, ``new_market``, ``market_resolved`` carry no price
  data: they emit no event and update ``market_status`` (and the token map),
  where they stay observable; the raw frames stay in the recording.

Dedupe: ``book`` and each price change carry a ``hash`` of the resulting
book state. A frame part whose (asset, hash, timestamp) was already seen is a
re-delivery (resubscribe, overlapping shards) and is dropped; the timestamp is
part of the key so a book that returns to an earlier state is not dropped.
"""

from __future__ import annotations

from typing import Any

from horizon_flow_core.errors import FeedError, FrameError, preview
from horizon_flow_core.events import MarketEvent

from .convert import frame_ts, int_text, num, side, text, tx_hash
from .state import NormalizerState, event


def _levels(frame: dict[str, Any], name: str, *, descending: bool) -> list[tuple[float, float]]:
    raw = frame.get(name)
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise FrameError(f"expected a list of levels, got {type(raw).__name__}", field=name)
    out: list[tuple[float, float]] = []
    for i, level in enumerate(raw):
        field = f"{name}[{i}]"
        if isinstance(level, (list, tuple)) and len(level) == 2:
            level = {"price": level[0], "size": level[1]}
        if not isinstance(level, dict):
            raise FrameError(f"expected {{price, size}}, got {preview(level, 60)}", field=field)
        try:
            p, s = num(level, "price"), num(level, "size")
        except FrameError as exc:
            raise _with_field_prefix(field, exc) from None
        assert p is not None and s is not None
        out.append((p, s))
    out.sort(key=lambda lv: lv[0], reverse=descending)
    return out


def _with_field_prefix(prefix: str, exc: FrameError) -> FrameError:
    return FrameError(exc.reason, field=f"{prefix}.{exc.field}" if exc.field else prefix)


def book(frame: dict[str, Any], recv_ts: int | None, st: NormalizerState) -> list[MarketEvent]:
    asset = text(frame, "asset_id")
    assert asset is not None
    ts = frame_ts(frame, recv_ts, "timestamp")
    bids = _levels(frame, "bids", descending=True)
    asks = _levels(frame, "asks", descending=False)
    digest = text(frame, "hash", required=False)
    condition = text(frame, "market", required=False)
    tick = num(frame, "tick_size", required=False)
    last = num(frame, "last_trade_price", required=False)
    # Checked in full above, so a bad frame leaves no dedupe key behind.
    if digest and not st.seen.add(("book", asset, digest, frame.get("timestamp"))):
        st.counters["duplicate_book"] += 1
        return []
    extra = st.extra(asset, condition)
    if digest:
        extra["hash"] = digest
    if tick is not None:
        extra["tick_size"] = tick
        status = st.status(asset)
        status.tick_size, status.tick_size_ts = tick, ts
    if last is not None:
        extra["last_trade_price"] = last
    return [event(asset, "book.snapshot", ts, bids=bids, asks=asks, extra=extra)]


def _change(raw: Any, field: str) -> tuple[str, float, float]:
    if not isinstance(raw, dict):
        raise FrameError(f"expected an object, got {type(raw).__name__}", field=field)
    try:
        s, p, z = side(raw), num(raw, "price"), num(raw, "size")
    except FrameError as exc:
        raise _with_field_prefix(field, exc) from None
    assert s is not None and p is not None and z is not None
    return s, p, z


def _best(raw: dict[str, Any], name: str) -> float | None:
    """``best_bid``/``best_ask``; "0" or "" means that side of the book is empty."""
    value = num(raw, name, required=False)
    return value if value else None


def price_change(frame: dict[str, Any], recv_ts: int | None, st: NormalizerState
                 ) -> list[MarketEvent]:
    ts = frame_ts(frame, recv_ts, "timestamp")
    stamp = frame.get("timestamp")
    condition = text(frame, "market", required=False)
    # Parse everything first so a bad change rejects the frame before any
    # dedupe key is remembered (a corrected re-send is then not dropped).
    parts: list[tuple[str, str, float, float, Any, float | None, float | None]] = []
    if "price_changes" in frame:
        changes = frame["price_changes"]
        if not isinstance(changes, list):
            raise FrameError("expected a list", field="price_changes")
        for i, raw in enumerate(changes):
            field = f"price_changes[{i}]"
            s, p, z = _change(raw, field)
            try:
                asset = text(raw, "asset_id")
                bb, ba = _best(raw, "best_bid"), _best(raw, "best_ask")
                digest = text(raw, "hash", required=False)
            except FrameError as exc:
                raise _with_field_prefix(field, exc) from None
            assert asset is not None
            parts.append((asset, s, p, z, digest, bb, ba))
    elif "changes" in frame:  # legacy documented form: one asset, a list of changes
        asset = text(frame, "asset_id")
        assert asset is not None
        changes = frame["changes"]
        if not isinstance(changes, list):
            raise FrameError("expected a list", field="changes")
        digest = text(frame, "hash", required=False)
        for i, raw in enumerate(changes):
            s, p, z = _change(raw, f"changes[{i}]")
            parts.append((asset, s, p, z, f"{digest}#{i}" if digest else None, None, None))
    else:  # 2024 capture: one flat change
        asset = text(frame, "asset_id")
        assert asset is not None
        s, p, z = _change(frame, "price_change")
        parts.append((asset, s, p, z, text(frame, "hash", required=False), None, None))

    out: list[MarketEvent] = []
    quotes: dict[str, tuple[float | None, float | None]] = {}
    for asset, s, p, z, digest, bb, ba in parts:
        if digest and not st.seen.add(("price_change", asset, digest, stamp)):
            st.counters["duplicate_price_change"] += 1
            continue
        extra = st.extra(asset, condition)
        if digest:
            extra["hash"] = digest
        out.append(event(asset, "book.delta", ts, side=s, price=p, size=z, extra=extra))
        if bb is not None or ba is not None:
            quotes[asset] = (bb, ba)  # the last change of the asset in the frame wins
    for asset, (bb, ba) in quotes.items():  # insertion order = order of first appearance
        out.append(event(asset, "quote.update", ts, bid=bb, ask=ba,
                         extra=st.extra(asset, condition)))
    return out


def last_trade_price(frame: dict[str, Any], recv_ts: int | None, st: NormalizerState
                     ) -> list[MarketEvent]:
    asset = text(frame, "asset_id")
    assert asset is not None
    ts = frame_ts(frame, recv_ts, "timestamp")
    price, size, taker_side = num(frame, "price"), num(frame, "size"), side(frame, required=False)
    extra = st.extra(asset, text(frame, "market", required=False))
    fee = num(frame, "fee_rate_bps", required=False, signed=True)
    if fee is not None:
        extra["fee_rate_bps"] = fee
    tx = tx_hash(frame, "transaction_hash")
    if tx:
        st.tape_by_tx.put(tx, ts)
    return [event(asset, "trade.tape", ts, side=taker_side, price=price, size=size,
                  aggressor=True if taker_side else None, tx_hash=tx, extra=extra)]


def best_bid_ask(frame: dict[str, Any], recv_ts: int | None, st: NormalizerState
                 ) -> list[MarketEvent]:
    asset = text(frame, "asset_id")
    assert asset is not None
    ts = frame_ts(frame, recv_ts, "timestamp")
    bb, ba = _best(frame, "best_bid"), _best(frame, "best_ask")
    if bb is None and ba is None:
        st.counters["empty_best_bid_ask"] += 1
        return []
    extra = st.extra(asset, text(frame, "market", required=False))
    spread = num(frame, "spread", required=False, signed=True)
    if spread is not None:
        extra["spread"] = spread
    return [event(asset, "quote.update", ts, bid=bb, ask=ba, extra=extra)]


def tick_size_change(frame: dict[str, Any], recv_ts: int | None, st: NormalizerState
                     ) -> list[MarketEvent]:
    asset = text(frame, "asset_id")
    assert asset is not None
    ts = frame_ts(frame, recv_ts, "timestamp")
    new = num(frame, "new_tick_size")
    num(frame, "old_tick_size", required=False)  # validated, not needed
    condition = text(frame, "market", required=False)
    status = st.status(asset)
    status.condition_id = condition or status.condition_id
    status.tick_size, status.tick_size_ts = new, ts
    st.counters["tick_size_change"] += 1
    return []


def _assets(frame: dict[str, Any]) -> list[str]:
    raw = frame.get("assets_ids") or frame.get("clob_token_ids") or []
    if not isinstance(raw, list):
        raise FrameError("expected a list of token ids", field="assets_ids")
    out: list[str] = []
    for token in raw:
        if type(token) is str:
            out.append(token)
        elif type(token) is int:
            out.append(int_text(token, "assets_ids"))
        else:
            raise FrameError(f"expected a token id, got {preview(token)}", field="assets_ids")
    return out


def new_market(frame: dict[str, Any], recv_ts: int | None, st: NormalizerState
               ) -> list[MarketEvent]:
    ts = frame_ts(frame, recv_ts, "timestamp")
    assets = _assets(frame)
    tick = num(frame, "order_price_min_tick_size", required=False)
    condition = text(frame, "condition_id", required=False) or text(frame, "market",
                                                                     required=False)
    try:
        st.token_map.add_new_market_frame(frame)
    except FeedError as exc:
        raise FrameError(exc.reason, field=exc.field) from None
    for asset in assets:
        status = st.status(asset)
        status.condition_id = condition
        status.listed_ts = ts
        if tick is not None:
            status.tick_size, status.tick_size_ts = tick, ts
    st.counters["new_market"] += 1
    return []


def market_resolved(frame: dict[str, Any], recv_ts: int | None, st: NormalizerState
                    ) -> list[MarketEvent]:
    ts = frame_ts(frame, recv_ts, "timestamp")
    winner = text(frame, "winning_asset_id", required=False)
    condition = text(frame, "market", required=False)
    outcome = text(frame, "winning_outcome", required=False)
    for asset in _assets(frame):
        status = st.status(asset)
        status.condition_id = condition or status.condition_id
        status.resolved, status.resolved_ts = True, ts
        status.winner = (asset == winner) if winner else None
        status.winning_outcome = outcome
    st.counters["market_resolved"] += 1
    return []


HANDLERS = {
    "book": book,
    "price_change": price_change,
    "last_trade_price": last_trade_price,
    "best_bid_ask": best_bid_ask,
    "tick_size_change": tick_size_change,
    "new_market": new_market,
    "market_resolved": market_resolved,
}
