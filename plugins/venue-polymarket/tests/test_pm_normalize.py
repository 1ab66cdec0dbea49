"""Every market-channel, user-channel and metadata sample parses, with checked values."""

from __future__ import annotations

import copy

import orjson
import pytest
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer
from horizon_flow_venue_polymarket.tokens import TokenMap

from horizon_flow_core.errors import FrameError
from horizon_flow_core.events import event_from_dict

TRUMP_YES = "21742633143463906290569050155826241533067272736897614950488156847949938836455"
TRUMP_NO = "48331043336612883890938759509493159234755048973500640148014422747788308965732"
TRUMP_CONDITION = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
BURST_A = "76670567130917723816490572615540605537878462672464291990940067659127658071111"
BURST_B = "54179564009642723353355316176091991063553046330768303687769988635499280029688"
MS = 1_000_000
S = 1_000_000_000


def norm(frame, recv_ts=None, n=None):
    n = n or PolymarketNormalizer()
    events = n.normalize(frame, recv_ts)
    for ev in events:  # every event survives the pinned schema's own validation
        assert event_from_dict(orjson.loads(orjson.dumps(ev.to_dict()))) == ev
    return events


# ----------------------------------------------------------------------------- book


def test_captured_book_best_level_is_last_and_comes_out_first(pm_load):
    raw = pm_load("nautilus_ws_book_snapshot_captured.json")
    # the wire order really is worst to best
    assert raw["bids"][-1] == {"price": "0.07", "size": "182528.55"}
    assert raw["asks"][-1] == {"price": "0.08", "size": "228198.28"}
    [ev] = norm(raw)
    assert ev.kind == "book.snapshot"
    assert ev.market_id == raw["asset_id"]
    assert ev.ts == 1786604072222 * MS
    assert ev.bids[0] == (0.07, 182528.55) and ev.bids[-1] == (0.01, 3149725.72)
    assert ev.asks[0] == (0.08, 228198.28) and ev.asks[-1] == (0.99, 156606.14)
    assert len(ev.bids) == 7 and len(ev.asks) == 57
    assert all(a[0] > b[0] for a, b in zip(ev.bids, ev.bids[1:], strict=False))
    assert all(a[0] < b[0] for a, b in zip(ev.asks, ev.asks[1:], strict=False))
    assert ev.extra["tick_size"] == 0.01 and ev.extra["last_trade_price"] == 0.92
    assert ev.extra["hash"] == "ed47eb91f3c7985fac1cb18cb7c19535eddd3c0a"
    assert ev.extra["condition_id"] == raw["market"]


def test_2024_book_and_rest_books(pm_load):
    [ws] = norm(pm_load("nautilus_ws_messages_book.json"))
    assert ws.market_id == TRUMP_NO
    assert ws.bids[0] == (0.511, 1304.72) and ws.asks[0] == (0.514, 20230.87)
    [rest] = norm(pm_load("nautilus_http_responses_book.json"))
    assert rest.bids[0] == (0.1, 125.0) and rest.asks[0] == (0.14, 705.0)
    assert rest.ts == 1728799418260 * MS
    [empty] = norm(pm_load("nautilus_clob_book_response_empty_ask.json"))
    assert empty.asks == [] and empty.bids == [(0.002, 6.99), (0.001, 667.12)]
    assert "last_trade_price" not in empty.extra  # "" means none


def test_book_resent_after_resubscribe_is_deduped_by_hash(pm_load):
    raw = pm_load("nautilus_ws_book_snapshot_captured.json")
    n = PolymarketNormalizer()
    assert len(n.normalize(raw, None)) == 1
    assert n.normalize(copy.deepcopy(raw), None) == []
    assert n.counters["duplicate_book"] == 1
    later = dict(raw, timestamp="1786604099999")  # same state at a later time is kept
    assert len(n.normalize(later, None)) == 1


# ----------------------------------------------------------------------------- price_change


def test_legacy_flat_price_change(pm_load):
    [ev] = norm(pm_load("nautilus_ws_messages_price_change.json"))
    assert (ev.kind, ev.market_id, ev.side, ev.price, ev.size) == (
        "book.delta", TRUMP_NO, "sell", 0.514, 21574.08)
    assert ev.ts == 1723967931411 * MS


def test_legacy_changes_list_form():
    # the documented pre-September-2025 shape (VENUES.md 1.1)
    frame = {"event_type": "price_change", "asset_id": TRUMP_YES, "market": TRUMP_CONDITION,
             "changes": [{"price": "0.4", "side": "SELL", "size": "3300"},
                         {"price": "0.39", "side": "BUY", "size": "0"}],
             "timestamp": "1723967931411", "hash": "abc"}
    evs = norm(frame)
    assert [(e.side, e.price, e.size) for e in evs] == [("sell", 0.4, 3300.0), ("buy", 0.39, 0.0)]
    assert all(e.kind == "book.delta" and e.market_id == TRUMP_YES for e in evs)


def test_price_changes_v2_gives_deltas_then_one_quote(pm_load):
    evs = norm(pm_load("nautilus_ws_messages_price_change_v2.json"))
    assert [e.kind for e in evs] == ["book.delta"] * 3 + ["quote.update"]
    assert [(e.side, e.price, e.size) for e in evs[:3]] == [
        ("buy", 0.6, 3300.0), ("buy", 0.5, 3400.0), ("buy", 0.7, 3400.0)]
    assert (evs[3].bid, evs[3].ask) == (0.6, 0.7)
    assert {e.ts for e in evs} == {1729084877448 * MS}


def test_crossing_burst_rebuilds_the_book_the_venue_reports(pm_load):
    """Snapshot + level-total deltas reproduce best_bid/best_ask of every change."""
    frames = pm_load("nautilus_ws_market_price_change_crossing_burst_first16.jsonl")
    assert len(frames) == 16
    n = PolymarketNormalizer()
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    checked = 0
    kinds = []
    for frame in frames:
        for ev in norm(frame, n=n):
            kinds.append(ev.kind)
            if ev.market_id != BURST_A:
                continue
            if ev.kind == "book.snapshot":
                bids, asks = dict(ev.bids), dict(ev.asks)
            elif ev.kind == "book.delta":
                book = bids if ev.side == "buy" else asks
                if ev.size == 0:
                    book.pop(ev.price, None)
                else:
                    book[ev.price] = ev.size
            elif ev.kind == "quote.update":
                assert (max(bids), min(asks)) == (ev.bid, ev.ask)
                checked += 1
    assert kinds.count("book.snapshot") == 1
    assert kinds.count("book.delta") == 30 and kinds.count("quote.update") == 30
    assert checked == 15
    # both complementary tokens appear in one frame
    assert {ev.market_id for ev in norm(frames[1])} == {BURST_A, BURST_B}
    # a second pass over the same frames is all duplicates
    assert sum(len(n.normalize(f, None)) for f in frames) == 0
    assert n.counters["duplicate_price_change"] == 30


# ----------------------------------------------------------------------------- tape, quotes, status


def test_last_trade_price_with_and_without_tx_hash(pm_load):
    raw = pm_load("nautilus_ws_messages_last_trade_price.json")
    [ev] = norm(raw)
    assert (ev.kind, ev.market_id, ev.side, ev.price, ev.size, ev.tx_hash) == (
        "trade.tape", TRUMP_YES, "sell", 0.491, 85.36, None)
    assert ev.ts == 1724564136087 * MS and ev.extra["fee_rate_bps"] == 0.0
    tx = "0x21D27B0FDE210CCB5E6480E3F479F342743AA1F854199D57CAFAB2553D9A516E"
    [with_tx] = norm(dict(raw, transaction_hash=tx))
    assert with_tx.tx_hash == tx.lower()


def test_best_bid_ask(pm_load):
    [ev] = norm(pm_load("nautilus_ws_market_best_bid_ask_msg.json"))
    assert (ev.kind, ev.bid, ev.ask, ev.extra["spread"]) == ("quote.update", 0.73, 0.77, 0.04)
    assert ev.ts == 1766789469958 * MS


def test_tick_size_change_is_kept_as_market_status(pm_load):
    raw = pm_load("nautilus_ws_messages_tick_size_change.json")
    n = PolymarketNormalizer()
    assert n.normalize(raw, None) == []
    status = n.market_status[raw["asset_id"]]
    assert status.tick_size == 0.001 and status.tick_size_ts == 1739068041853 * MS
    assert n.counters["tick_size_change"] == 1


def test_new_market_then_resolved(pm_load):
    n = PolymarketNormalizer()
    listed = pm_load("nautilus_ws_market_new_market_msg.json")
    assert n.normalize(listed, None) == []
    yes, no = listed["assets_ids"]
    assert n.token_map.get(yes).outcome == "Yes" and n.token_map.get(no).outcome == "No"
    assert n.token_map.get(yes).slug == "nvda-above-240-on-january-30-2026"
    assert n.market_status[yes].tick_size == 0.01
    # a later event on that token carries the market's metadata
    [q] = n.normalize({"event_type": "best_bid_ask", "asset_id": no, "market": listed["market"],
                       "best_bid": "0.2", "best_ask": "0.25", "timestamp": "1766790415551"}, None)
    assert q.extra == {"condition_id": listed["market"], "outcome": "No",
                       "slug": "nvda-above-240-on-january-30-2026"}
    assert n.normalize(pm_load("nautilus_ws_market_resolved_msg.json"), None) == []
    assert n.market_status[yes].resolved and n.market_status[yes].winner is True
    assert n.market_status[no].winner is False
    assert n.market_status[no].resolved_ts == 1766790415550 * MS


# ----------------------------------------------------------------------------- user channel


def test_order_placement_and_cancel(pm_load):
    [placed] = norm(pm_load("nautilus_ws_messages_order_placement.json"))
    assert (placed.kind, placed.actor_id, placed.side, placed.price, placed.size) == (
        "order.placed", "0xa3d82ed56f4c68d2328fb8c29e568ba2caf7d7c8", "buy", 0.513, 5.0)
    assert placed.order_id == "0x0f76f4dc6eaf3332f4100f2e8a0b4a927351dd64646b7bb12f37df775c657a78"
    assert placed.ts == 1725842520990 * MS
    assert placed.extra["created_at"] == 1725842520 * S  # seconds field
    [cancel] = norm(pm_load("nautilus_ws_messages_order_cancel.json"))
    assert (cancel.kind, cancel.side, cancel.size) == ("order.canceled", "sell", 0.0)


def test_order_update_is_an_amend_to_the_remaining_size(pm_load):
    n = PolymarketNormalizer()
    placed = pm_load("nautilus_ws_messages_order_placement.json")
    n.normalize(placed, None)
    update = dict(placed, type="UPDATE", size_matched="2", status="LIVE",
                  timestamp="1725842521990")
    [ev] = norm(update, n=n)
    assert (ev.kind, ev.size, ev.extra["size_matched"], ev.extra["filled_delta"]) == (
        "order.amended", 3.0, 2.0, 2.0)
    kill = dict(placed, type="UPDATE", size_matched="2", status="CANCELED_FOK")
    [ev] = norm(kill, n=n)
    assert (ev.kind, ev.size) == ("order.canceled", 3.0)


def test_taker_trade_gives_one_fill_per_participant(pm_load):
    evs = norm(pm_load("nautilus_ws_messages_trades.json"))
    maker, taker = evs
    assert (maker.actor_id, maker.counterparty_id, maker.side, maker.aggressor) == (
        "0x1bfdf7224c358405a486b5fd8489f13c2adcb5f3",
        "0xa3d82ed56f4c68d2328fb8c29e568ba2caf7d7c8", "sell", False)
    assert (taker.actor_id, taker.counterparty_id, taker.side, taker.aggressor) == (
        "0xa3d82ed56f4c68d2328fb8c29e568ba2caf7d7c8",
        "0x1bfdf7224c358405a486b5fd8489f13c2adcb5f3", "buy", True)
    assert {(e.price, e.size, e.market_id) for e in evs} == {(0.489, 5.0, TRUMP_YES)}
    assert taker.order_id == "0x4505aada9831d06078a005c8ec96396a78c8f06035bf763b40fc16d27a250043"
    assert maker.ts == 1726043102 * S  # match_time, seconds


def test_maker_trade_with_complementary_token_maker(pm_load):
    raw = pm_load("nautilus_ws_messages_user_trade1.json")
    evs = norm(raw)
    assert len(evs) == 12
    takers = [e for e in evs if e.aggressor]
    makers = [e for e in evs if not e.aggressor]
    assert {e.actor_id for e in takers} == {"0x64b7a036c378f9cf8163a5480437cd12ae14b6a1"}
    assert sum(e.size for e in takers) == pytest.approx(1096.87)  # the taker's order size
    assert {e.counterparty_id for e in takers} == {e.actor_id for e in makers}
    no_maker = next(e for e in makers if e.market_id == TRUMP_NO)
    assert (no_maker.side, no_maker.price, no_maker.size) == ("buy", 0.482, 10.0)  # a MINT
    no_taker = next(e for e in takers if e.market_id == TRUMP_NO)
    assert (no_taker.side, no_taker.price) == ("sell", 0.482)  # = BUY YES at 0.518
    assert no_taker.extra["complementary"] is True
    assert no_taker.extra["taker_side"] == "buy" and no_taker.extra["taker_price"] == 0.518
    ours = next(e for e in makers if e.actor_id == "0xa3d82ed56f4c68d2328fb8c29e568ba2caf7d7c8")
    assert (ours.side, ours.price, ours.size, ours.market_id) == ("sell", 0.518, 5.0, TRUMP_YES)
    assert all(e.tx_hash == raw["transaction_hash"] for e in evs)


def test_trade_status_updates_do_not_repeat_fills(pm_load):
    raw = pm_load("nautilus_ws_messages_user_trade2.json")
    n = PolymarketNormalizer()
    assert len(n.normalize(raw, None)) == 2
    assert n.trade_status(raw["id"]) == "MATCHED"
    for status in ("MINED", "CONFIRMED"):
        assert n.normalize(dict(raw, status=status), None) == []
    assert n.trade_status(raw["id"]) == "CONFIRMED"


def test_maker_orders_with_explicit_side(pm_load):
    evs3 = norm(pm_load("nautilus_ws_messages_user_trade3.json"))
    assert [(e.side, e.price, e.aggressor) for e in evs3] == [
        ("buy", 0.513, False), ("sell", 0.513, True)]
    evs4 = norm(pm_load("nautilus_ws_messages_user_trade4.json"))
    makers = [e for e in evs4 if not e.aggressor]
    assert [(e.actor_id[:6], e.side, e.price, e.size) for e in makers] == [
        ("0xa3d8", "buy", 0.4, 5.0), ("0x0f6e", "buy", 0.35, 5.0), ("0xa3d8", "buy", 0.3, 5.0)]
    assert all(e.side == "sell" and e.actor_id == "0xaeaf6c1016de43ad358c1831bd13d78ed545266b"
               for e in evs4 if e.aggressor)
    assert evs4[0].ts == 1762776367 * S


# ----------------------------------------------------------------------------- metadata


def test_clob_markets_page_and_gamma_fill_the_token_map(pm_load):
    tm = TokenMap.from_payload(pm_load("nautilus_http_responses_markets.json"))
    assert len(tm) == 198  # 100 markets x 2 tokens, minus 2 with empty token ids
    info = tm.get("10715043962341292242163832255523703116280692082153281340642602592290195499485")
    assert info.outcome == "Yes" and info.condition_id.startswith("0x12a0cb60")
    assert info.slug == "will-ron-desantis-win-the-us-2024-republican-presidential-nomination"
    assert info.complement == (
        "80085489243215790077454313513728486445319747473476157602131800551595373270758")

    gamma = TokenMap.from_payload(pm_load("nautilus_gamma_market.json"))
    up = gamma.get(
        "104239898038807136052399800151408521467737075933964991162589336683346093173875")
    down = gamma.get(
        "71183960810705820955071415844881728181970340514894896943812046065452395013351")
    assert (up.outcome, down.outcome) == ("Up", "Down")
    assert up.slug == "btc-updown-5m-1773307200" and up.tick_size == 0.01
    assert up.condition_id == "0x78443f961b9a65869dcb39359de9960165c7e5cbad0904eac7f29cd77872a63b"


def test_token_map_from_clob_market_names_the_book(pm_load, tmp_path):
    path = tmp_path / "markets.json"
    path.write_bytes(orjson.dumps(pm_load("nautilus_http_responses_market.json")))
    from horizon_flow_venue_polymarket.config import PolymarketConfig
    n = PolymarketNormalizer(PolymarketConfig(token_map_file=str(path)))
    [ev] = n.normalize(pm_load("nautilus_ws_messages_book.json"), None)
    assert ev.market_id == TRUMP_NO
    assert ev.extra["outcome"] == "No" and ev.extra["condition_id"] == TRUMP_CONDITION
    assert ev.extra["slug"] == "will-donald-trump-win-the-2024-us-presidential-election"


def test_metadata_frames_emit_nothing_but_fill_the_map(pm_load):
    n = PolymarketNormalizer()
    assert n.normalize(pm_load("nautilus_http_responses_markets.json"), None) == []
    assert n.normalize(pm_load("nautilus_gamma_market.json"), None) == []
    assert len(n.token_map) == 200


# ------------------------------------------------------------------- wire quirks and bad input


def test_array_frames_pong_and_json_text(pm_load):
    book = pm_load("nautilus_ws_book_snapshot_captured.json")
    change = pm_load("nautilus_ws_messages_price_change.json")
    n = PolymarketNormalizer()
    evs = n.normalize([book, change], 5)
    assert [e.kind for e in evs] == ["book.snapshot", "book.delta"]
    assert n.normalize("PONG", 5) == []
    assert len(PolymarketNormalizer().normalize(orjson.dumps([book]).decode(), 5)) == 1


def test_missing_timestamp_falls_back_to_receive_time(pm_load):
    raw = dict(pm_load("nautilus_ws_market_best_bid_ask_msg.json"))
    del raw["timestamp"]
    [ev] = PolymarketNormalizer().normalize(raw, 123)
    assert ev.ts == 123
    with pytest.raises(FrameError, match="timestamp"):
        PolymarketNormalizer().normalize(raw, None)


@pytest.mark.parametrize(("frame", "needle"), [
    ("garbage{", "not JSON"),
    (42, "expected a JSON object"),
    ({"event_type": "mystery"}, "event_type"),
    ({"hello": 1}, "unknown frame shape"),
    ({"event_type": "book", "timestamp": "1"}, "asset_id"),
    ({"event_type": "book", "asset_id": "1", "timestamp": "1723967931411",
      "bids": [{"price": "x", "size": "1"}], "asks": []}, "bids[0].price"),
    ({"event_type": "price_change", "market": "0x", "timestamp": "1723967931411",
      "price_changes": [{"asset_id": "1", "price": "0.5", "side": "UP", "size": "1"}]},
     "price_changes[0].side"),
    ({"event_type": "last_trade_price", "asset_id": "1", "timestamp": "1723967931411",
      "price": "0.5"}, "size"),
    ({"event_type": "trade", "id": "t", "asset_id": "1", "maker_address": "0xab",
      "side": "BUY", "price": "0.5", "match_time": "1725868859", "maker_orders": []},
     "maker_orders"),
    ({"topic": "weather", "type": "x", "payload": {}}, "topic"),
    ([{"event_type": "best_bid_ask", "asset_id": "1", "best_bid": "0.5",
       "timestamp": "1723967931411"}, {"event_type": "nope"}], "element 1"),
])
def test_bad_frames_raise_one_line_errors_naming_the_field(frame, needle):
    with pytest.raises(FrameError) as info:
        PolymarketNormalizer().normalize(frame, None)
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_bad_change_rejects_the_frame_without_poisoning_dedupe(pm_load):
    good = pm_load("nautilus_ws_messages_price_change_v2.json")
    bad = copy.deepcopy(good)
    bad["price_changes"][2]["size"] = "lots"
    n = PolymarketNormalizer()
    with pytest.raises(FrameError, match=r"price_changes\[2\]\.size"):
        n.normalize(bad, None)
    assert len(n.normalize(good, None)) == 4  # the corrected re-send is not a "duplicate"


def test_same_frames_same_events(pm_load):
    frames = pm_load("nautilus_ws_market_price_change_crossing_burst_first16.jsonl")
    runs = []
    for _ in range(2):
        n = PolymarketNormalizer()
        runs.append(b"\n".join(orjson.dumps(e.to_dict()) for f in frames
                               for e in n.normalize(f, None)))
    assert runs[0] == runs[1] and runs[0]
