"""Frame shapes without a recorded sample, built only in their documented form.

There is no recorded WS ``trades`` frame with ``users`` (VENUES.md section 5):
the trades frames here follow the documented shape (VENUES.md table and
order_book_server's ``Trade{coin,side,px,sz,hash,time,tid,users:[buyer,seller]}``).
``orderUpdates``, ``userFills``, ``bbo``, node ``fills``/``order_statuses``/
``raw_book_diffs`` and the ``*_by_block`` wrapper follow the field lists of
VENUES.md section 3 (the node lines mirror the hl-node README's examples).
"""

from __future__ import annotations

from typing import Any

import pytest
from horizon_flow_venue_hyperliquid import HyperliquidConfig, HyperliquidNormalizer

from horizon_flow_core.errors import FrameError
from horizon_flow_core.events import event_from_dict, event_to_dict

MS = 1_000_000
BUYER = "0xAaAa000000000000000000000000000000000001"
SELLER = "0xBbBb000000000000000000000000000000000002"
WALLET = "0xcccc000000000000000000000000000000000003"


def trade(tid: int, side: str = "B", px: str = "100.5", sz: str = "2.0",
          t: int = 1_700_000_000_000, users: list[str] | None = None) -> dict[str, Any]:
    return {"coin": "BTC", "side": side, "px": px, "sz": sz, "hash": f"0x{tid:064x}",
            "time": t, "tid": tid, "users": users or [BUYER, SELLER]}


def order_update(oid: int, status: str, *, px: str = "100.0", sz: str = "5.0",
                 orig: str | None = None, cloid: str | None = None, side: str = "B",
                 t: int = 1_700_000_000_000, placed: int | None = None) -> dict[str, Any]:
    order: dict[str, Any] = {"coin": "ETH", "side": side, "limitPx": px, "sz": sz, "oid": oid,
                             "timestamp": placed if placed is not None else t,
                             "origSz": orig if orig is not None else sz}
    if cloid is not None:
        order["cloid"] = cloid
    return {"order": order, "status": status, "statusTimestamp": t}


def fill(oid: int, tid: int, *, side: str = "B", px: str = "100.0", sz: str = "1.0",
         crossed: bool = False, t: int = 1_700_000_000_500, coin: str = "ETH") -> dict[str, Any]:
    return {"coin": coin, "px": px, "sz": sz, "side": side, "time": t, "startPosition": "0.0",
            "dir": "Open Long", "closedPnl": "0.0", "hash": f"0x{tid:064x}", "oid": oid,
            "crossed": crossed, "fee": "0.01", "feeToken": "USDC", "tid": tid}


def summary(events: list) -> list[tuple]:
    return [(e.kind, e.order_id, e.side, e.price, e.size) for e in events]


# ---------------------------------------------------------------------------- WS trades


def test_ws_trades_give_a_fill_per_wallet_and_one_print() -> None:
    n = HyperliquidNormalizer()
    frame = {"channel": "trades", "data": [trade(7, side="A", px="66653.5", sz="0.25")]}
    buy, sell, tape = n.normalize(frame, None)
    assert (buy.kind, buy.side, buy.actor_id, buy.counterparty_id, buy.aggressor) == (
        "order.filled", "buy", BUYER.lower(), SELLER.lower(), False)
    assert (sell.kind, sell.side, sell.actor_id, sell.counterparty_id, sell.aggressor) == (
        "order.filled", "sell", SELLER.lower(), BUYER.lower(), True)
    assert (tape.kind, tape.side, tape.actor_id) == ("trade.tape", "sell", None)
    for ev in (buy, sell, tape):
        assert (ev.market_id, ev.price, ev.size, ev.ts) == ("BTC", 66653.5, 0.25,
                                                           1_700_000_000_000 * MS)
        assert ev.tx_hash == f"0x{7:064x}" and ev.extra == {"tid": 7}
        assert ev.order_id is None  # the trades channel does not carry order ids
    taker_buy = HyperliquidNormalizer().normalize({"channel": "trades", "data": [trade(8)]}, None)
    assert [e.aggressor for e in taker_buy[:2]] == [True, False]
    assert taker_buy[2].side == "buy"


def test_ws_trades_resent_after_resubscribe_are_not_emitted_again() -> None:
    n = HyperliquidNormalizer()
    first = n.normalize({"channel": "trades", "data": [trade(1), trade(2)]}, None)
    assert len(first) == 6
    again = n.normalize({"channel": "trades", "data": [trade(2), trade(3)]}, None)
    assert [e.extra["tid"] for e in again] == [3, 3, 3]
    assert n.duplicates == 3


def test_self_trade_keeps_both_sides() -> None:
    n = HyperliquidNormalizer()
    events = n.normalize({"channel": "trades", "data": [trade(5, users=[BUYER, BUYER])]}, None)
    assert [(e.kind, e.side, e.actor_id, e.counterparty_id) for e in events] == [
        ("order.filled", "buy", BUYER.lower(), BUYER.lower()),
        ("order.filled", "sell", BUYER.lower(), BUYER.lower()),
        ("trade.tape", "buy", None, None)]


def test_dedupe_memory_is_bounded() -> None:
    n = HyperliquidNormalizer(HyperliquidConfig(dedupe_window=4))
    n.normalize({"channel": "trades", "data": [trade(1)]}, None)  # 3 keys
    n.normalize({"channel": "trades", "data": [trade(2)]}, None)  # 3 more: trade 1 forgotten
    assert len(n._seen) == 4
    assert len(n.normalize({"channel": "trades", "data": [trade(1)]}, None)) == 3


def test_user_fills_after_trades_are_the_same_executions() -> None:
    n = HyperliquidNormalizer()
    n.normalize({"channel": "trades", "data": [trade(11, side="B", px="100.0", sz="1.0")]}, None)
    frame = {"channel": "userFills", "data": {"user": BUYER, "fills": [
        {**fill(501, 11, side="B", crossed=True, coin="BTC"), "hash": f"0x{11:064x}"}]}}
    assert n.normalize(frame, None) == []  # the buyer's side of trade 11, already out


# ---------------------------------------------------------------------------- user streams


def test_user_fills_snapshot_after_reconnect_drops_what_was_emitted() -> None:
    n = HyperliquidNormalizer()
    snap1 = {"channel": "userFills", "data": {"isSnapshot": True, "user": WALLET, "fills": [
        fill(1, 102, t=1_700_000_002_000), fill(1, 101, t=1_700_000_001_000)]}}
    events = n.normalize(snap1, None)
    assert [e.extra["tid"] for e in events] == [101, 102]  # oldest first
    assert all(e.extra["snapshot"] is True and e.actor_id == WALLET for e in events)
    live = {"channel": "userFills", "data": {"user": WALLET, "fills": [
        fill(2, 103, t=1_700_000_003_000, side="A", crossed=True)]}}
    [ev] = n.normalize(live, None)
    assert (ev.side, ev.aggressor, ev.order_id, ev.extra.get("snapshot")) == ("sell", True, "2",
                                                                               None)
    # reconnect: the snapshot repeats old fills (even beyond the dedupe memory)
    snap2 = {"channel": "userFills", "data": {"isSnapshot": True, "user": WALLET, "fills": [
        fill(3, 104, t=1_700_000_004_000),
        fill(2, 103, t=1_700_000_003_000, side="A", crossed=True),
        fill(1, 99, t=1_700_000_000_000)]}}
    assert [e.extra["tid"] for e in n.normalize(snap2, None)] == [104]


def test_user_events_channel_fills_funding_liquidation_and_non_user_cancel() -> None:
    n = HyperliquidNormalizer()
    placed = n.normalize({"channel": "orderUpdates", "user": WALLET,
                          "data": [order_update(77, "open", sz="3.0")]}, None)
    assert summary(placed) == [("order.placed", "77", "buy", 100.0, 3.0)]
    assert n.normalize({"channel": "user", "data": {"funding": {
        "time": 1, "coin": "ETH", "usdc": "-1.0", "szi": "2.0", "fundingRate": "0.0001"}}},
        None) == []
    assert n.normalize({"channel": "user", "data": {"liquidation": {
        "lid": 1, "liquidator": "0x1", "liquidated_user": "0x2", "liquidated_ntl_pos": "1",
        "liquidated_account_value": "1"}}}, None) == []
    [cancel] = n.normalize({"channel": "user", "user": WALLET,
                            "data": {"nonUserCancel": [{"coin": "ETH", "oid": 77}]}},
                           1_700_000_009_000 * MS)
    assert (cancel.kind, cancel.order_id, cancel.size, cancel.actor_id, cancel.ts) == (
        "order.canceled", "77", 3.0, WALLET, 1_700_000_009_000 * MS)
    assert cancel.extra["status"] == "nonUserCancel"
    [fill_ev] = n.normalize({"channel": "user", "user": WALLET,
                             "data": {"fills": [fill(78, 555, crossed=True)]}}, None)
    assert (fill_ev.actor_id, fill_ev.aggressor, fill_ev.size) == (WALLET, True, 1.0)
    with pytest.raises(FrameError, match="no receive time"):
        n.normalize({"channel": "user", "data": {"nonUserCancel": [{"coin": "ETH", "oid": 1}]}},
                    None)
    with pytest.raises(FrameError, match="unknown userEvents payload"):
        n.normalize({"channel": "user", "data": {"surprise": []}}, None)


def test_order_updates_without_a_wallet_learn_it_from_fills() -> None:
    n = HyperliquidNormalizer()
    n.normalize({"channel": "userFills", "data": {"user": WALLET, "fills": [fill(900, 1)]}}, None)
    events = n.normalize({"channel": "orderUpdates", "data": [order_update(900, "canceled")]},
                         None)
    assert [e.kind for e in events] == ["order.placed", "order.canceled"]  # placement inferred
    assert all(e.actor_id == WALLET for e in events)


# ---------------------------------------------------------------------------- order lifecycle


def test_amend_in_place_partial_fill_and_cancel() -> None:
    n = HyperliquidNormalizer()

    def upd(*items: dict[str, Any]) -> list:
        return n.normalize({"channel": "orderUpdates", "user": WALLET, "data": list(items)}, None)

    assert summary(upd(order_update(1, "open", px="100.0", sz="5.0"))) == [
        ("order.placed", "1", "buy", 100.0, 5.0)]
    assert summary(upd(order_update(1, "open", px="101.0", sz="5.0"))) == [
        ("order.amended", "1", "buy", 101.0, 5.0)]
    assert upd(order_update(1, "open", px="101.0", sz="5.0")) == []  # repeated report
    assert upd(order_update(1, "open", px="101.0", sz="3.0", orig="5.0")) == []  # partial fill
    assert summary(upd(order_update(1, "open", px="101.0", sz="4.0", orig="5.0"))) == [
        ("order.amended", "1", "buy", 101.0, 4.0)]  # size went up: an amend
    [cancel] = upd(order_update(1, "canceled", px="101.0", sz="4.0", t=1_700_000_001_000))
    assert summary([cancel]) == [("order.canceled", "1", "buy", 101.0, 4.0)]
    assert cancel.actor_id == WALLET and cancel.ts == 1_700_000_001_000 * MS
    assert upd(order_update(1, "open")) == []  # late report of a finished order


def test_cancel_replace_with_same_cloid_is_one_amended_order() -> None:
    n = HyperliquidNormalizer()
    cl = "0x0000000000000000000000000000abcd"

    def upd(*items: dict[str, Any]) -> list:
        return n.normalize({"channel": "orderUpdates", "user": WALLET, "data": list(items)}, None)

    assert summary(upd(order_update(10, "open", px="100.0", sz="5.0", cloid=cl))) == [
        ("order.placed", "10", "buy", 100.0, 5.0)]
    # the venue opens the replacement under a new oid, then cancels the old one
    events = upd(order_update(11, "open", px="99.5", sz="4.0", cloid=cl),
                 order_update(10, "canceled", px="100.0", sz="5.0", cloid=cl))
    assert summary(events) == [("order.amended", "10", "buy", 99.5, 4.0)]
    assert events[0].extra["oid"] == 11 and events[0].extra["replaces_oid"] == 10
    fills = n.normalize({"channel": "userFills", "data": {"user": WALLET, "fills": [
        fill(11, 4242, px="99.5", sz="1.5")]}}, None)
    assert [(e.order_id, e.extra["oid"], e.size) for e in fills] == [("10", 11, 1.5)]
    [cancel] = upd(order_update(11, "canceled", px="99.5", sz="2.5", cloid=cl))
    assert summary([cancel]) == [("order.canceled", "10", "buy", 99.5, 2.5)]


def test_filled_status_of_a_wallet_with_a_fill_stream_defers_to_the_fills() -> None:
    n = HyperliquidNormalizer()
    n.normalize({"channel": "orderUpdates", "user": WALLET,
                 "data": [order_update(20, "open", sz="5.0")]}, None)
    [part] = n.normalize({"channel": "userFills", "data": {"user": WALLET, "fills": [
        fill(20, 301, sz="2.0", px="99.9")]}}, None)
    assert (part.order_id, part.size, part.price) == ("20", 2.0, 99.9)
    # the status says the order is done; the fill stream reports the executions
    assert n.normalize({"channel": "orderUpdates", "user": WALLET, "data": [
        order_update(20, "filled", sz="0.0", orig="5.0")]}, None) == []
    [rest] = n.normalize({"channel": "userFills", "data": {"user": WALLET, "fills": [
        fill(20, 302, sz="3.0", px="99.8", crossed=True)]}}, None)
    assert (rest.order_id, rest.size, rest.price, rest.aggressor) == ("20", 3.0, 99.8, True)


def test_filled_status_without_a_fill_stream_counts_each_execution_once() -> None:
    n = HyperliquidNormalizer()
    n.normalize({"channel": "orderUpdates", "user": WALLET,
                 "data": [order_update(21, "open", sz="5.0")]}, None)
    [done] = n.normalize({"channel": "orderUpdates", "user": WALLET, "data": [
        order_update(21, "filled", sz="0.0", orig="5.0")]}, None)
    assert summary([done]) == [("order.filled", "21", "buy", 100.0, 5.0)]
    assert done.extra["price_is_limit"] is True and done.actor_id == WALLET
    # the same execution reported later by a node fill is not counted twice
    assert n.normalize([WALLET, fill(21, 303, sz="5.0")], None) == []
    # with fills_from_status off, statuses never make executions
    quiet = HyperliquidNormalizer(HyperliquidConfig(fills_from_status=False))
    quiet.normalize({"channel": "orderUpdates", "user": WALLET,
                     "data": [order_update(22, "open", sz="5.0")]}, None)
    assert quiet.normalize({"channel": "orderUpdates", "user": WALLET, "data": [
        order_update(22, "filled", sz="0.0", orig="5.0")]}, None) == []


def test_ioc_filled_without_open_and_rejections() -> None:
    n = HyperliquidNormalizer()
    [ev] = n.normalize({"channel": "orderUpdates", "user": WALLET, "data": [
        order_update(30, "filled", sz="0.0", orig="2.0")]}, None)
    assert summary([ev]) == [("order.filled", "30", "buy", 100.0, 2.0)]
    [rej] = n.normalize({"channel": "orderUpdates", "user": WALLET, "data": [
        order_update(31, "badAloPxRejected", sz="1.0")]}, None)
    assert summary([rej]) == [("order.canceled", "31", "buy", 100.0, 1.0)]
    assert rej.extra["rejected"] is True and rej.extra["status"] == "badAloPxRejected"
    assert n.normalize({"channel": "orderUpdates", "user": WALLET, "data": [
        order_update(32, "someFutureStatus")]}, None) == []
    assert n.orders.unknown_statuses["someFutureStatus"] == 1


def test_cancel_of_an_order_placed_while_away_infers_the_placement() -> None:
    n = HyperliquidNormalizer()
    events = n.normalize({"channel": "orderUpdates", "user": WALLET, "data": [
        order_update(40, "marginCanceled", sz="2.0", orig="5.0", t=1_700_000_005_000,
                     placed=1_700_000_001_000)]}, None)
    assert [(e.kind, e.ts, e.size, (e.extra or {}).get("inferred")) for e in events] == [
        ("order.placed", 1_700_000_001_000 * MS, 5.0, True),
        ("order.canceled", 1_700_000_005_000 * MS, 2.0, None)]


# ---------------------------------------------------------------------------- books and quotes


def test_bbo_and_l2book_quotes_and_repeats() -> None:
    n = HyperliquidNormalizer()
    bbo = {"channel": "bbo", "data": {"coin": "BTC", "time": 1_700_000_000_123, "bbo": [
        {"px": "86759.0", "sz": "7.25913", "n": 25}, {"px": "86760.0", "sz": "0.5", "n": 2}]}}
    [q] = n.normalize(bbo, None)
    assert (q.kind, q.bid, q.bid_size, q.ask, q.ask_size, q.ts) == (
        "quote.update", 86759.0, 7.25913, 86760.0, 0.5, 1_700_000_000_123 * MS)
    assert q.extra == {"bid_orders": 25, "ask_orders": 2}
    assert n.normalize(bbo, None) == []  # the same quote again (resubscribe)
    one_sided = {"channel": "bbo", "data": {"coin": "BTC", "time": 1_700_000_000_200, "bbo": [
        {"px": "86758.0", "sz": "1.0", "n": 1}, None]}}
    [q2] = n.normalize(one_sided, None)
    assert (q2.bid, q2.ask, q2.ask_size) == (86758.0, None, None)
    assert n.normalize({"channel": "bbo", "data": {"coin": "BTC", "time": 1_700_000_000_300,
                                                   "bbo": [None, None]}}, None) == []

    book = {"channel": "l2Book", "data": {"coin": "ETH", "time": 1_700_000_000_000, "levels": [
        [{"px": "2000.5", "sz": "1.5", "n": 3}], [{"px": "2001.0", "sz": "0.25", "n": 1}]]}}
    with_quotes = HyperliquidNormalizer(HyperliquidConfig(quotes_from_l2book=True))
    snap, quote = with_quotes.normalize(book, None)
    assert snap.bids == [(2000.5, 1.5)] and snap.asks == [(2001.0, 0.25)]
    assert (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (2000.5, 2001.0, 1.5, 0.25)
    assert with_quotes.normalize(book, None) == []
    older = {"channel": "l2Book", "data": {**book["data"], "time": 1_699_999_999_000}}
    assert with_quotes.normalize(older, None) == []  # older than the last snapshot


# ---------------------------------------------------------------------------- node data


def test_node_fills_line_and_block_pair_counterparties_and_tape() -> None:
    buyer_fill = {**fill(124639075240, 343451763467020, side="B", px="115865.0", sz="0.0001",
                         crossed=True, t=1754017199857, coin="@142"), "hash": "0xb2d9"}
    seller_fill = {**fill(124638539336, 343451763467020, side="A", px="115865.0", sz="0.0001",
                          crossed=False, t=1754017199857, coin="@142"), "hash": "0xb2d9"}
    block = {"local_time": "2025-08-01T03:00:00.101010101",
             "block_time": "2025-08-01T02:59:59.857000000", "block_number": 690000001,
             "events": [[BUYER, buyer_fill], [SELLER, seller_fill]]}
    n = HyperliquidNormalizer()
    events = n.normalize(block, None)
    assert [(e.kind, e.actor_id, e.counterparty_id, e.side, e.aggressor) for e in events] == [
        ("order.filled", BUYER.lower(), SELLER.lower(), "buy", True),
        ("trade.tape", None, None, "buy", None),
        ("order.filled", SELLER.lower(), BUYER.lower(), "sell", False)]
    assert all(e.extra["block_number"] == 690000001 for e in events)
    assert all(e.ts == 1754017199857 * MS and e.price == 115865.0 for e in events)
    # the same fills as plain node_fills lines: already emitted
    assert n.normalize([BUYER, buyer_fill], None) == []
    alone = HyperliquidNormalizer().normalize([SELLER, seller_fill], None)
    assert [(e.kind, e.actor_id, e.counterparty_id) for e in alone] == [
        ("order.filled", SELLER.lower(), None)]


def test_node_order_statuses_by_block() -> None:
    line = {"local_time": "2025-11-16T09:03:31.951669810",
            "block_time": "2025-11-16T08:45:47.219983285", "block_number": 463290001,
            "events": [{"time": "2025-11-16T08:45:47.219983285",
                        "user": "0x768484f7e2ebb675c57838366c02ae99ba2a9b08",
                        "hash": "0x1b05", "builder": None, "status": "open",
                        "order": {"coin": "WCT", "side": "B", "limitPx": "0.14276",
                                  "sz": "5929.0", "oid": 43214347550, "timestamp": 1763282747219,
                                  "triggerCondition": "N/A", "isTrigger": False,
                                  "triggerPx": "0.0", "children": [], "isPositionTpsl": False,
                                  "reduceOnly": False, "orderType": "Limit", "origSz": "5929.0",
                                  "tif": "Alo", "cloid": None}}]}
    [ev] = HyperliquidNormalizer().normalize(line, None)
    assert summary([ev]) == [("order.placed", "43214347550", "buy", 0.14276, 5929.0)]
    assert ev.actor_id == "0x768484f7e2ebb675c57838366c02ae99ba2a9b08"
    assert ev.ts == 1763282747219983285  # the status's own ISO time, to the nanosecond
    assert ev.extra["hash"] == "0x1b05" and ev.extra["tif"] == "Alo"
    assert ev.extra["block_number"] == 463290001


def diff(oid: int, raw: Any, side: str | None = "B", px: str = "100.0") -> dict[str, Any]:
    d: dict[str, Any] = {"user": WALLET, "oid": oid, "coin": "BTC", "px": px,
                         "raw_book_diff": raw}
    if side is not None:
        d["side"] = side
    return d


def test_raw_book_diffs_track_level_totals_exactly() -> None:
    n = HyperliquidNormalizer()
    block = {"local_time": "2025-11-16T09:03:31.948114729",
             "block_time": "2025-11-16T08:45:47.219983285", "block_number": 5,
             "events": [diff(1, {"new": {"sz": "0.1"}}),
                        diff(2, {"new": {"sz": "0.2"}}),
                        diff(3, {"new": {"sz": "7.0"}}, side="Ask", px="101.0"),
                        diff(1, {"update": {"origSz": "0.1", "newSz": "0.05"}}),
                        diff(2, "remove"),
                        diff(1, "remove"),
                        diff(99, "remove")]}
    events = n.normalize(block, None)
    assert [(e.side, e.price, e.size, e.order_id, e.extra["diff"]) for e in events] == [
        ("buy", 100.0, 0.1, "1", "new"),
        ("buy", 100.0, 0.3, "2", "new"),  # 0.1 + 0.2 summed as decimals: exactly 0.3
        ("sell", 101.0, 7.0, "3", "new"),
        ("buy", 100.0, 0.25, "1", "update"),
        ("buy", 100.0, 0.05, "2", "remove"),
        ("buy", 100.0, 0.0, "1", "remove")]  # 0 removes the level
    assert all(e.kind == "book.delta" and e.actor_id == WALLET for e in events)
    assert all(e.ts == 1763282747219983285 for e in events)
    assert n.book_diffs.unseen_removals == 1  # oid 99 was never seen: skipped, counted


def test_raw_book_diff_side_from_order_status_when_missing() -> None:
    n = HyperliquidNormalizer()
    n.normalize({"time": "2025-01-01T00:00:00.5", "user": WALLET, "status": "open",
                 "order": {"coin": "BTC", "side": "A", "limitPx": "100.0", "sz": "1.0",
                           "oid": 7, "timestamp": 1735689600500}}, None)
    [ev] = n.normalize({"block_time": "2025-01-01T00:00:00.5", "block_number": 1,
                        "events": [diff(7, {"new": {"sz": "1.0"}}, side=None)]}, None)
    assert (ev.side, ev.size, ev.ts) == ("sell", 1.0, 1735689600500000000)
    with pytest.raises(FrameError, match="without a side"):
        HyperliquidNormalizer().normalize({"block_time": "2025-01-01T00:00:00", "events": [
            diff(8, {"new": {"sz": "1.0"}}, side=None)]}, None)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("frame", "reason"), [
    ("{not json", "not JSON"),
    ("", "empty frame"),
    (42, "expected a JSON object or array"),
    ({"surely": "not a frame"}, "unknown Hyperliquid frame shape"),
    ({"channel": "mystery", "data": {}}, "unknown channel 'mystery'"),
    ({"channel": "error", "data": "Invalid subscription"}, "venue sent an error"),
    ({"channel": "trades", "data": {"coin": "BTC"}}, "expected an array"),
    ({"channel": "l2Book", "data": {"coin": "BTC", "time": 1, "levels": [[]]}}, "levels"),
    ({"channel": "bbo", "data": {"coin": "BTC", "time": "soon", "bbo": [None, None]}},
     "integer milliseconds"),
    ({"channel": "trades", "data": [{**trade(1), "px": "abc"}]}, "not a decimal"),
    ({"channel": "trades", "data": [{**trade(1), "side": "X"}]}, "expected side"),
    ({"channel": "trades", "data": [{**trade(1), "users": ["0x1"]}]}, "users must be"),
    ({"time": "yesterday", "ver_num": 1, "raw": {"channel": "pong"}}, "not an ISO-8601 time"),
    ({"block_time": "2025-01-01T00:00:00", "events": [diff(1, {"grow": {"sz": "1"}})]},
     "unknown raw_book_diff kind"),
])
def test_bad_frames_raise_frame_error_with_the_reason(frame: Any, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        HyperliquidNormalizer().normalize(frame, None)


def test_acks_and_pongs_give_nothing() -> None:
    n = HyperliquidNormalizer()
    assert n.normalize({"channel": "subscriptionResponse", "data": {
        "method": "subscribe", "subscription": {"type": "trades", "coin": "BTC"}}}, None) == []
    assert n.normalize('{"channel":"pong"}', None) == []
    assert n.normalize(b'{"channel":"allMids","data":{"mids":{"BTC":"1.0"}}}', None) == []
    assert n.normalize([], None) == []


def test_one_bad_item_loses_nothing_else() -> None:
    n = HyperliquidNormalizer()
    events = n.normalize({"channel": "trades", "data": [
        trade(1), {**trade(2), "sz": "-3"}, "junk", trade(3)]}, None)
    assert sorted({e.extra["tid"] for e in events}) == [1, 3]
    rejects = n.take_rejects()
    assert [r for r, _ in rejects] == [
        "field 'sz': trades[1]: expected a finite non-negative number, got '-3'",
        "trades[2]: expected an object, got str"]
    assert rejects[1][1] == "junk"
    assert n.take_rejects() == []
    block = {"block_time": "2025-01-01T00:00:00", "block_number": 3, "events": [
        diff(1, {"new": {"sz": "1"}}), {"who": "knows"}, diff(2, {"new": {"sz": "2"}})]}
    assert [e.size for e in n.normalize(block, None)] == [1.0, 3.0]
    [(reason, item)] = n.take_rejects()
    assert "unknown block event shape" in reason and item == {"who": "knows"}


def test_every_event_round_trips_through_the_pinned_schema() -> None:
    n = HyperliquidNormalizer()
    frames = [{"channel": "trades", "data": [trade(1)]},
              {"channel": "orderUpdates", "user": WALLET, "data": [order_update(1, "open")]},
              {"channel": "user", "user": WALLET,
               "data": {"nonUserCancel": [{"coin": "ETH", "oid": 1}]}},
              {"block_time": "2025-01-01T00:00:00", "events": [diff(5, {"new": {"sz": "1"}})]}]
    for frame in frames:
        for ev in n.normalize(frame, 1):
            assert event_from_dict(event_to_dict(ev)) == ev
