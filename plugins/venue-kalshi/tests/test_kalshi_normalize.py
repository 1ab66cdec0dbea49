"""Normalizer behaviour: books, sequence checks, own orders, units, bad input."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from horizon_flow_venue_kalshi import KalshiConfig, KalshiNormalizer

from horizon_flow_core.errors import FrameError
from horizon_flow_core.events import event_from_dict

M = "KXTEST-26JAN01-T50"
N = "KXOTHER-26JAN01-T10"
T0 = 1_770_000_000_000_000_000


def snap(market: str, sid: int, seq: int, yes: Any = None, no: Any = None,
         key: str = "_dollars_fp") -> dict[str, Any]:
    msg: dict[str, Any] = {"market_ticker": market, "market_id": "uuid-" + market}
    if yes is not None:
        msg["yes" + key] = yes
    if no is not None:
        msg["no" + key] = no
    return {"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg}


def delta(market: str, sid: int, seq: int, side: str, price: str, d: str,
          ts_ms: int | None = None, **more: Any) -> dict[str, Any]:
    msg = {"market_ticker": market, "market_id": "uuid", "price_dollars": price, "delta_fp": d,
           "side": side, **more}
    if ts_ms is not None:
        msg["ts_ms"] = ts_ms
    return {"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": msg}


def checked(events):
    for ev in events:
        assert event_from_dict(orjson.loads(orjson.dumps(ev.to_dict()))) == ev
    return events


# ---------------------------------------------------------------------------- books


def test_book_built_from_snapshot_and_signed_deltas() -> None:
    norm = KalshiNormalizer()
    out = checked(norm.normalize(snap(M, 1, 1, yes=[["0.4000", "10.00"], ["0.4200", "5.00"]],
                                      no=[["0.5500", "7.00"]]), T0))
    assert [e.kind for e in out] == ["book.snapshot", "quote.update"]
    assert out[0].bids == [(0.42, 5.0), (0.4, 10.0)] and out[0].asks == [(0.45, 7.0)]

    # add to an existing YES bid level: the event carries the new total
    out = checked(norm.normalize(delta(M, 1, 2, "yes", "0.4000", "2.50", ts_ms=1000), None))
    assert [(e.kind, e.side, e.price, e.size) for e in out] == [("book.delta", "buy", 0.4, 12.5)]
    assert out[0].ts == 1000 * 1_000_000
    # a NO bid at 0.56 is a YES ask at 0.44, better than 0.45: quote moves too
    out = checked(norm.normalize(delta(M, 1, 3, "no", "0.5600", "3.00", ts_ms=2000), None))
    assert [(e.kind, e.side, e.price, e.size) for e in out[:1]] == [
        ("book.delta", "sell", 0.44, 3.0)]
    assert (out[1].kind, out[1].bid, out[1].bid_size, out[1].ask, out[1].ask_size) == (
        "quote.update", 0.42, 5.0, 0.44, 3.0)
    assert out[1].extra == {"source": "book"}
    # taking the whole best bid away removes the level (size 0) and the quote drops to 0.40
    out = checked(norm.normalize(delta(M, 1, 4, "yes", "0.4200", "-5.00", ts_ms=3000), None))
    assert (out[0].price, out[0].size) == (0.42, 0.0)
    assert (out[1].bid, out[1].bid_size) == (0.4, 12.5)
    # a change behind the top of book gives no quote
    out = norm.normalize(delta(M, 1, 5, "no", "0.5500", "-2.00", ts_ms=4000), None)
    assert [(e.kind, e.price, e.size) for e in out] == [("book.delta", 0.45, 5.0)]
    assert norm.book_levels(M) == ([(0.4, 12.5)], [(0.44, 3.0), (0.45, 5.0)])


def test_legacy_cent_books_and_mixed_fields() -> None:
    norm = KalshiNormalizer()
    # legacy snapshot: integer cents and integer counts
    legacy = {"type": "orderbook_snapshot", "sid": 3, "seq": 1, "msg": {
        "market_ticker": M, "yes": [[3, 80000], [5, 100]], "no": [[1, 73590], [94, 12]]}}
    (book, quote) = norm.normalize(legacy, T0)
    assert book.bids == [(0.05, 100.0), (0.03, 80000.0)]
    assert book.asks == [(0.06, 12.0), (0.99, 73590.0)]
    assert (quote.bid, quote.ask) == (0.05, 0.06)
    # legacy delta: cents, integer delta, ISO ts with a fraction
    old = {"type": "orderbook_delta", "sid": 3, "seq": 2, "msg": {
        "market_ticker": M, "price": 51, "delta": -1, "side": "no",
        "ts": "2025-08-12T21:00:32.5Z"}}
    (ev,) = norm.normalize(old, None)
    assert (ev.side, ev.price, ev.size) == ("sell", 0.49, 0.0)
    assert ev.ts == 1755032432_500_000_000
    # a delta mixing the current price string with a legacy integer delta
    mixed = {"type": "orderbook_delta", "sid": 3, "seq": 3, "msg": {
        "market_ticker": M, "price_dollars": "0.0300", "delta": 20, "side": "yes",
        "ts": 1755032433}}
    (ev,) = norm.normalize(mixed, None)
    assert (ev.side, ev.price, ev.size, ev.ts) == ("buy", 0.03, 80020.0, 1755032433_000_000_000)
    # a snapshot in the intermediate `_dollars` form (dollar strings, integer counts)
    mid = snap(N, 4, 1, yes=[["0.080", 300]], no=[["0.540", 20]], key="_dollars")
    (book, _) = norm.normalize(mid, T0)
    assert (book.bids, book.asks) == ([(0.08, 300.0)], [(0.46, 20.0)])


def test_sub_cent_prices_and_exact_sums() -> None:
    norm = KalshiNormalizer()
    norm.normalize(snap(M, 1, 1, yes=[["0.0050", "1.00"]], no=[["0.9950", "2.00"]]), T0)
    assert norm.book_levels(M) == ([(0.005, 1.0)], [(0.005, 2.0)])
    # 0.10 + 0.10 + 0.10 is exactly 0.30 more; float addition would say 1.3000000000000003
    for seq in (2, 3, 4):
        ev, quote = norm.normalize(delta(M, 1, seq, "yes", "0.0050", "0.10"), T0)
    assert ev.size == 1.3 and quote.bid_size == 1.3
    # 1 - 0.5400 is 0.46, not 0.45999999999999996
    (ev,) = norm.normalize(delta(M, 1, 5, "no", "0.5400", "1.00"), T0)
    assert ev.price == 0.46


def test_use_yes_price_books_are_not_flipped() -> None:
    norm = KalshiNormalizer(KalshiConfig(use_yes_price=True))
    (book, _) = norm.normalize(snap(M, 1, 1, yes=[["0.40", "1"]], no=[["0.45", "2"]]), T0)
    assert book.asks == [(0.45, 2.0)]
    (ev, _) = norm.normalize(delta(M, 1, 2, "no", "0.4400", "3"), T0)
    assert (ev.side, ev.price, ev.size) == ("sell", 0.44, 3.0)


# ---------------------------------------------------------------------------- sequence


def test_seq_gap_marks_every_book_of_the_subscription_until_resnapshot() -> None:
    norm = KalshiNormalizer()
    norm.normalize(snap(M, 5, 1, yes=[["0.40", "10"]], no=[["0.55", "10"]]), T0)
    norm.normalize(snap(N, 5, 2, yes=[["0.20", "1"]]), T0)
    assert [e.kind for e in norm.normalize(delta(M, 5, 3, "yes", "0.40", "1"), T0)] == [
        "book.delta", "quote.update"]
    # seq 4 never arrives
    out = checked(norm.normalize(delta(N, 5, 5, "yes", "0.20", "1"), T0))
    # one gap per in-sync market of the subscription, in ticker order
    assert [(e.kind, e.market_id) for e in out] == [("feed.gap", N), ("feed.gap", M)]
    assert out[0].extra == {"sid": 5, "expected": 4, "got": 5, "channel": "orderbook_delta",
                            "reason": "seq_gap"}
    assert norm.pop_snapshot_requests() == [(5, [N, M])]
    assert norm.pop_snapshot_requests() == []
    # deltas for out-of-sync books are dropped, without another gap event
    assert norm.normalize(delta(M, 5, 6, "yes", "0.40", "100"), T0) == []
    assert norm.stats["deltas_dropped_unsynced"] == 2
    assert norm.pop_snapshot_requests() == [(5, [M])]  # still wanted: asked again
    # the fresh snapshot rebuilds M; N stays out of sync
    (book, quote) = norm.normalize(snap(M, 5, 7, yes=[["0.41", "3"]], no=[["0.55", "4"]]), T0)
    assert (book.bids, book.asks) == ([(0.41, 3.0)], [(0.45, 4.0)])
    (ev, q) = norm.normalize(delta(M, 5, 8, "yes", "0.42", "2"), T0)
    assert (ev.price, ev.size, q.bid) == (0.42, 2.0, 0.42)
    assert norm.normalize(delta(N, 5, 9, "yes", "0.20", "1"), T0) == []
    assert M in norm.synced and N not in norm.synced


def test_repeated_seq_is_a_gap_and_resubscribe_resets() -> None:
    norm = KalshiNormalizer()
    norm.normalize(snap(M, 1, 1, yes=[["0.40", "10"]]), T0)
    norm.normalize(delta(M, 1, 2, "yes", "0.40", "1"), T0)
    # a duplicate would be applied twice: treat it as a gap
    (gap,) = norm.normalize(delta(M, 1, 2, "yes", "0.40", "1"), T0)
    assert gap.kind == "feed.gap" and gap.extra["expected"] == 3 and gap.extra["got"] == 2
    # a new subscription (after a reconnect) numbers from 1 again: no gap
    assert norm.normalize({"type": "subscribed", "id": 1,
                           "msg": {"channel": "orderbook_delta", "sid": 1}}, T0) == []
    out = norm.normalize(snap(M, 1, 1, yes=[["0.40", "10"]]), T0)
    assert [e.kind for e in out] == ["book.snapshot", "quote.update"]
    assert [(e.kind, e.size) for e in norm.normalize(delta(M, 1, 2, "yes", "0.40", "1"), T0)
            ][:1] == [("book.delta", 11.0)]


def test_delta_before_any_snapshot_is_reported_once_and_dropped() -> None:
    norm = KalshiNormalizer()
    (gap,) = checked(norm.normalize(delta(M, 7, 40, "yes", "0.40", "5"), T0))
    assert gap.kind == "feed.gap" and gap.extra == {"sid": 7, "channel": "orderbook_delta",
                                                    "reason": "no_snapshot"}
    assert norm.normalize(delta(M, 7, 41, "yes", "0.40", "5"), T0) == []
    assert norm.pop_snapshot_requests() == [(7, [M])]
    assert norm.book_levels(M) is None


def test_terminal_subscription_error_invalidates_its_books() -> None:
    norm = KalshiNormalizer()
    norm.normalize(snap(M, 2, 1, yes=[["0.40", "10"]]), T0)
    (gap,) = norm.normalize({"type": "error", "sid": 2, "msg": {
        "code": 25, "msg": "Subscription buffer overflow"}}, T0 + 5)
    assert gap.kind == "feed.gap" and gap.ts == T0 + 5
    assert gap.extra == {"sid": 2, "channel": "orderbook_delta", "reason": "subscription_error",
                         "code": 25}
    assert M not in norm.synced
    # other errors are kept, not events
    assert norm.normalize({"id": 9, "type": "error", "msg": {"code": 8, "msg": "x"}}, T0) == []
    assert [e["code"] for e in norm.errors] == [25, 8]


# ---------------------------------------------------------------------------- trades and quotes


def test_trade_direction_fields_in_order_of_preference() -> None:
    norm = KalshiNormalizer(KalshiConfig(trade_dedupe_window=0))

    def side(**msg: Any) -> str | None:
        (ev,) = norm.normalize({"type": "trade", "msg": {
            "market_ticker": M, "yes_price_dollars": "0.5", "count_fp": "1", **msg}}, T0)
        return ev.side

    assert side(taker_side="yes") == "buy" and side(taker_side="no") == "sell"
    assert side(taker_book_side="bid") == "buy" and side(taker_book_side="ask") == "sell"
    assert side(taker_outcome_side="no", taker_side="no", taker_book_side="ask") == "sell"
    assert side() is None  # a print without a side is still a print
    # the price can come from the NO leg only
    (ev,) = norm.normalize({"type": "trade", "msg": {"market_ticker": M, "no_price": 64,
                                                     "count": 3, "taker_side": "no"}}, T0)
    assert (ev.price, ev.size) == (0.36, 3.0)


def test_rest_trade_pages_and_dedupe_against_live() -> None:
    norm = KalshiNormalizer()
    live = {"type": "trade", "sid": 1, "seq": 1, "msg": {
        "trade_id": "t-1", "market_ticker": M, "yes_price_dollars": "0.6100",
        "count_fp": "10.00", "taker_side": "yes", "ts_ms": 1770897985123}}
    page = {"cursor": "", "trades": [
        {"trade_id": "t-2", "ticker": M, "count_fp": "2.50", "yes_price_dollars": "0.6200",
         "no_price_dollars": "0.3800", "taker_side": "no",
         "created_time": "2026-02-12T12:06:25.456789Z"},
        {"trade_id": "t-1", "ticker": M, "count_fp": "10.00", "yes_price_dollars": "0.6100",
         "taker_side": "yes", "created_time": "2026-02-12T12:06:25.123Z"}]}
    assert len(norm.normalize(live, T0)) == 1
    (ev,) = checked(norm.normalize(page, T0))
    assert (ev.market_id, ev.side, ev.price, ev.size) == (M, "sell", 0.62, 2.5)
    assert ev.ts == 1770897985_456789000 and ev.seq is None
    assert norm.stats["trades_duplicate"] == 1


def test_ticker_quotes_only_on_change_and_v2_partial_updates() -> None:
    norm = KalshiNormalizer()
    full = {"type": "ticker", "sid": 3, "msg": {
        "market_ticker": M, "yes_bid_dollars": "0.4500", "yes_ask_dollars": "0.5300",
        "yes_bid_size_fp": "300.00", "yes_ask_size_fp": "150.00", "volume_fp": "10.00",
        "ts": 1669149841}}
    (q,) = norm.normalize(full, None)
    assert (q.bid, q.ask, q.bid_size, q.ask_size, q.ts) == (
        0.45, 0.53, 300.0, 150.0, 1669149841_000_000_000)
    # only the volume moved: not a quote change
    assert norm.normalize({**full, "msg": {**full["msg"], "volume_fp": "11.00"}}, None) == []
    # legacy ticker_v2 sends only what changed, in cents
    (q,) = norm.normalize({"type": "ticker_v2", "sid": 3, "msg": {
        "market_ticker": M, "yes_bid": 46, "ts": 1669149842}}, None)
    assert (q.bid, q.ask, q.bid_size, q.ask_size) == (0.46, 0.53, 300.0, 150.0)
    # a ticker without any quote field gives nothing
    assert norm.normalize({"type": "ticker_v2", "msg": {"market_ticker": N, "volume_delta": 3,
                                                        "ts": 1669149843}}, None) == []


# ---------------------------------------------------------------------------- own orders


def order(status: str, remaining: str, filled: str = "0.00", price: str = "0.3500",
          **more: Any) -> dict[str, Any]:
    return {"type": "user_order", "sid": 22, "msg": {
        "order_id": "o-1", "user_id": "u", "ticker": M, "status": status, "side": "yes",
        "outcome_side": "yes", "book_side": "bid", "yes_price_dollars": price,
        "fill_count_fp": filled, "remaining_count_fp": remaining, "initial_count_fp": "10.00",
        "client_order_id": "c-1", "created_ts_ms": 1733047200000, "subaccount_number": 2,
        **more}}


def test_user_order_lifecycle_into_order_events() -> None:
    norm = KalshiNormalizer()
    (placed,) = checked(norm.normalize(order("resting", "10.00"), T0))
    assert (placed.kind, placed.actor_id, placed.order_id, placed.side, placed.price,
            placed.size, placed.ts) == ("order.placed", "subaccount:2", "o-1", "buy", 0.35, 10.0,
                                        1733047200000 * 1_000_000)
    # an amend moves the price: order.amended with the new price and resting size
    (amended,) = checked(norm.normalize(order("resting", "10.00", price="0.3600",
                                              last_update_reason="Amend",
                                              last_updated_ts_ms=1733047201000), T0))
    assert (amended.kind, amended.price, amended.size, amended.ts) == (
        "order.amended", 0.36, 10.0, 1733047201000 * 1_000_000)
    assert amended.extra["reason"] == "Amend"
    # a partial fill is not an amendment (the fill channel reports it)
    assert norm.normalize(order("resting", "6.00", "4.00", price="0.3600",
                                last_update_reason="Trade"), T0) == []
    # a decrease is
    (dec,) = norm.normalize(order("resting", "5.00", "4.00", price="0.3600",
                                  last_update_reason="Decrease"), T0)
    assert (dec.kind, dec.size) == ("order.amended", 5.0)
    # the cancel reports what was still resting even when the venue zeroes it
    (cancel,) = checked(norm.normalize(order("canceled", "0.00", "4.00", price="0.3600",
                                             last_updated_ts_ms=1733047209000), T0))
    assert (cancel.kind, cancel.size, cancel.price, cancel.ts) == (
        "order.canceled", 5.0, 0.36, 1733047209000 * 1_000_000)
    assert "o-1" not in norm._orders


def test_first_sight_cancel_and_execution() -> None:
    norm = KalshiNormalizer()
    # an IOC remainder: placed and cancelled in one message
    out = norm.normalize(order("canceled", "0.00", "3.00"), T0)
    assert [(e.kind, e.size) for e in out] == [("order.placed", 10.0), ("order.canceled", 7.0)]
    # a fully executed taker order: placed, then nothing (fills come on their own channel)
    msg = order("executed", "0.00", "10.00")
    msg["msg"]["order_id"] = "o-2"
    assert [e.kind for e in norm.normalize(msg, T0)] == ["order.placed"]
    assert norm._orders == {}


def test_legacy_fill_and_order_directions() -> None:
    norm = KalshiNormalizer()
    # buying NO at 70c is selling YES at 30c
    (fill,) = checked(norm.normalize({"type": "fill", "sid": 13, "msg": {
        "trade_id": "t", "order_id": "o", "market_ticker": M, "is_taker": False, "side": "no",
        "yes_price": 30, "no_price": 70, "count": 5, "action": "buy", "ts": 1671899397}}, None))
    assert (fill.side, fill.price, fill.size, fill.actor_id, fill.aggressor) == (
        "sell", 0.3, 5.0, "subaccount:0", False)
    # selling NO is buying YES
    (fill,) = norm.normalize({"type": "fill", "msg": {
        "order_id": "o", "market_ticker": M, "side": "no", "no_price_dollars": "0.7000",
        "count_fp": "1.00", "action": "sell", "ts": 1671899398}}, None)
    assert (fill.side, fill.price) == ("buy", 0.3)
    # outcome_side wins over the deprecated fields
    (fill,) = norm.normalize({"type": "fill", "msg": {
        "order_id": "o", "market_ticker": M, "side": "yes", "action": "buy", "outcome_side": "no",
        "yes_price_dollars": "0.5", "count_fp": "1", "ts": 1671899399, "subaccount": 7}}, None)
    assert (fill.side, fill.actor_id) == ("sell", "subaccount:7")


# ---------------------------------------------------------------------------- status, control


def test_lifecycle_and_event_status_are_kept() -> None:
    norm = KalshiNormalizer()
    for event_type in ("activated", "deactivated"):
        assert norm.normalize({"type": "market_lifecycle_v2", "sid": 1, "seq": 1, "msg": {
            "market_ticker": M, "event_type": event_type}}, T0) == []
    assert norm.market_status[M]["is_deactivated"] is True
    norm.normalize({"type": "market_lifecycle_v2", "sid": 1, "seq": 3, "msg": {
        "market_ticker": M, "event_type": "determined", "result": "yes",
        "settlement_value": "1.0000", "determination_ts": 1694721600}}, T0)
    assert norm.market_status[M]["result"] == "yes"
    assert norm.market_status[M]["history"] == ["activated", "deactivated", "determined"]
    norm.normalize({"type": "event_lifecycle", "sid": 5, "seq": 8, "msg": {
        "event_ticker": "KXQ", "title": "t", "series_ticker": "S"}}, T0)
    norm.normalize({"type": "event_fee_update", "sid": 5, "seq": 9, "msg": {
        "event_ticker": "KXQ", "fee_type_override": "quadratic",
        "fee_multiplier_override": 1}}, T0)
    assert norm.event_status["KXQ"]["fee_type_override"] == "quadratic"
    assert norm.event_status["KXQ"]["history"] == ["event_lifecycle", "event_fee_update"]


def test_control_and_other_frames_give_no_events() -> None:
    norm = KalshiNormalizer()
    for frame in ({"id": 3, "type": "ok", "msg": [{"channel": "ticker", "sid": 2}]},
                  {"id": 123, "sid": 456, "seq": 222, "type": "ok",
                   "msg": {"market_tickers": ["A"]}},
                  {"id": 102, "sid": 2, "seq": 7, "type": "unsubscribed"},
                  {"type": "market_position", "sid": 14, "msg": {"market_ticker": M}},
                  {"_kind": "client_command", "id": 1, "cmd": "subscribe", "params": {}},
                  [{"type": "ok"}, {"type": "subscribed", "msg": {"channel": "trade", "sid": 9}}]):
        assert norm.normalize(frame, T0) == []
    assert norm.sid_channel == {9: "trade"}


def test_recording_lines_and_bytes_are_accepted() -> None:
    norm = KalshiNormalizer()
    frame = {"type": "trade", "msg": {"market_ticker": M, "yes_price": 40, "count": 2}}
    line = orjson.dumps({"venue": "kalshi", "recv_ts": T0 + 7, "frame": frame})
    (ev,) = norm.normalize(line, None)
    assert ev.ts == T0 + 7  # no frame time: the recording's receive time
    (ev,) = norm.normalize(orjson.dumps(frame), T0 + 9)
    assert ev.ts == T0 + 9


def test_time_precedence_and_fallbacks() -> None:
    norm = KalshiNormalizer(KalshiConfig(trade_dedupe_window=0))

    def ts(recv: int | None = None, **msg: Any) -> int:
        (ev,) = norm.normalize({"type": "trade", "msg": {
            "market_ticker": M, "yes_price": 40, "count": 2, **msg}}, recv)
        return ev.ts

    assert ts(ts=1, ts_ms=1500) == 1_500_000_000
    assert ts(ts=2) == 2_000_000_000
    assert ts(created_time="2026-02-12T12:06:25Z") == 1770897985_000_000_000
    assert ts(created_time="2026-02-12T13:06:25.5+01:00") == 1770897985_500_000_000
    assert ts(created_time="2026-02-12T12:06:25.123456789123Z") == 1770897985_123456789
    assert ts(recv=42) == 42
    assert ts() == 42  # nothing at all: the last time seen, never the wall clock


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("frame", "field", "words"), [
    ("{not json", None, "not JSON"),
    ("[1, 2]", None, "expected a JSON object"),
    ({"msg": {}}, "type", "missing message type"),
    ({"type": "orderbook_update_v9", "msg": {}}, "type", "unknown message type"),
    ({"type": "trade", "msg": "x"}, "msg", "expected an object"),
    ({"type": "trade", "msg": {"yes_price": 40, "count": 1}}, "msg.market_ticker", "ticker"),
    ({"type": "trade", "msg": {"market_ticker": M, "yes_price_dollars": "1.5", "count": 1}},
     "msg.yes_price_dollars", "outside [0, 1]"),
    ({"type": "trade", "msg": {"market_ticker": M, "yes_price": 140, "count": 1}},
     "msg.yes_price", "outside [0, 100]"),
    ({"type": "trade", "msg": {"market_ticker": M, "yes_price": 40, "count_fp": "-1"}},
     "msg.count_fp", "negative"),
    ({"type": "trade", "msg": {"market_ticker": M, "yes_price": 40}}, "msg.count_fp", "missing"),
    ({"type": "trade", "msg": {"market_ticker": M, "count": 1}}, "msg.yes_price_dollars",
     "missing price"),
    ({"type": "trade", "msg": {"market_ticker": M, "yes_price": True, "count": 1}},
     "msg.yes_price", "bool"),
    ({"type": "trade", "msg": {"market_ticker": M, "yes_price": 40, "count": 1,
                               "taker_side": "up"}}, "msg.taker_side", "expected one of"),
    ({"type": "trade", "msg": {"market_ticker": M, "yes_price": 40, "count": 1,
                               "ts": "yesterday"}}, "msg.ts", "RFC 3339"),
    ({"type": "trade", "sid": 1, "seq": "7", "msg": {"market_ticker": M, "yes_price": 40,
                                                      "count": 1}}, "seq", "integer"),
    ({"type": "orderbook_delta", "sid": 1, "seq": 1, "msg": {
        "market_ticker": M, "price_dollars": "0.5", "delta_fp": "1", "side": "maybe"}},
     "msg.side", "'yes' or 'no'"),
    ({"type": "orderbook_delta", "sid": 1, "seq": 1, "msg": {
        "market_ticker": M, "price_dollars": "0.5", "side": "yes"}}, "msg.delta_fp", "missing"),
    ({"type": "orderbook_snapshot", "sid": 1, "seq": 1, "msg": {
        "market_ticker": M, "yes_dollars_fp": "0.5"}}, "msg.yes_dollars_fp", "list"),
    ({"type": "orderbook_snapshot", "sid": 1, "seq": 1, "msg": {
        "market_ticker": M, "no_dollars_fp": [["0.5", "abc"]]}}, "msg.no_dollars_fp[0][1]",
     "decimal"),
    ({"type": "fill", "msg": {"market_ticker": M, "yes_price": 40, "count": 1}},
     "msg.outcome_side", "direction"),
    ({"type": "fill", "msg": {"market_ticker": M, "yes_price": 40, "count": 1, "side": "yes",
                              "subaccount": -1}}, "msg.subaccount", "subaccount"),
    ({"type": "user_order", "msg": {"ticker": M, "status": "resting"}}, "msg.order_id",
     "order id"),
    ({"type": "event_lifecycle", "msg": {"title": "x"}}, "msg.event_ticker", "event ticker"),
    ({"trades": [{"ticker": M, "yes_price": 40}]}, "trades[0].count_fp", "missing"),
])
def test_bad_frames_raise_one_line_errors_naming_the_field(
        frame: Any, field: str | None, words: str) -> None:
    norm = KalshiNormalizer()
    with pytest.raises(FrameError) as info:
        norm.normalize(frame, T0)
    err = info.value
    assert err.field == field
    assert words in str(err) and "\n" not in str(err)
    # nothing is lost around it: the same normalizer goes on with good frames
    (ev,) = norm.normalize({"type": "trade", "msg": {"market_ticker": M, "yes_price": 40,
                                                     "count": 1}}, T0)
    assert ev.price == 0.4


def test_trade_dedupe_keeps_at_least_the_window_and_stays_bounded() -> None:
    norm = KalshiNormalizer(KalshiConfig(trade_dedupe_window=10))

    def trade(i: int) -> list[Any]:
        return norm.normalize({"type": "trade", "msg": {
            "market_ticker": M, "trade_id": f"t{i}", "yes_price_dollars": "0.5",
            "count_fp": "1", "taker_side": "yes"}}, T0 + i)

    for i in range(30):
        assert len(trade(i)) == 1
    assert len(norm._trade_ids) <= 11  # the window and at most a tenth more
    assert trade(25) == []  # among the last 10: a duplicate
    assert len(trade(5)) == 1  # long forgotten: a print again
