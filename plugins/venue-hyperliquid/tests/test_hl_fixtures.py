"""Every recorded Hyperliquid sample parses into events whose values are checked.

MIT samples are copied into ``tests/data`` (see PROVENANCE.md there); LGPL and
unlicensed samples are read from the shared fixtures folder and the test is
skipped, with the reason, when it is absent. Expected numbers below are read
off the sample files by hand (times converted with the UTC calendar).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import orjson
from horizon_flow_venue_hyperliquid import HyperliquidConfig, HyperliquidNormalizer
from horizon_flow_venue_hyperliquid.info import perp_coins

from horizon_flow_core.events import event_from_dict, event_to_dict
from horizon_flow_core.testing import shared_fixture, shared_fixtures_dir
from horizon_flow_core.testing.conformance import check_venue

DATA = Path(__file__).resolve().parent / "data"
SHARED = shared_fixtures_dir("hyperliquid", __file__)  # None when absent
MS = 1_000_000


def shared(name: str) -> Path:
    return shared_fixture("hyperliquid", name, __file__)  # skips when absent


def normalize_file(path: Path) -> list:
    n = HyperliquidNormalizer()
    if path.suffix == ".jsonl":
        events = []
        for line in path.read_bytes().splitlines():
            events += n.normalize(line, None)
    else:
        events = n.normalize(path.read_bytes(), None)
    assert n.take_rejects() == []
    for ev in events:  # every event is valid in the pinned schema and round-trips
        assert event_from_dict(event_to_dict(ev)) == ev
    return events


# ---------------------------------------------------------------------------- info (MIT, copied)


def test_info_l2book_dydx_is_one_snapshot_best_first() -> None:
    [ev] = normalize_file(DATA / "info_l2Book_DYDX_2023-07-17.json")
    assert (ev.kind, ev.market_id, ev.venue) == ("book.snapshot", "DYDX", "hyperliquid")
    assert ev.ts == 1689630203930 * MS
    assert len(ev.bids) == 20 and len(ev.asks) == 20
    assert ev.bids[0] == (2.111, 134.4) and ev.bids[1] == (2.1105, 141.1)
    assert ev.bids[-1] == (1.81, 2397.0)
    assert ev.asks[0] == (2.1124, 352.3) and ev.asks[-1] == (2.1518, 62.0)
    # best first: bids descending, asks ascending
    assert [p for p, _ in ev.bids] == sorted((p for p, _ in ev.bids), reverse=True)
    assert [p for p, _ in ev.asks] == sorted(p for p, _ in ev.asks)
    assert ev.extra["bid_orders"][:6] == [1, 1, 1, 1, 1, 2]
    assert ev.extra["ask_orders"][:6] == [2, 2, 2, 2, 2, 1]


def test_info_meta_and_allmids_give_no_events() -> None:
    assert normalize_file(DATA / "info_meta_2023-07-17.json") == []
    assert normalize_file(DATA / "info_allMids_2023-07-17.json") == []
    coins = perp_coins(json.loads((DATA / "info_meta_2023-07-17.json").read_text()))
    assert len(coins) == 28 and coins[:3] == ["BTC", "ETH", "ATOM"] and coins[-1] == "APT"


def test_info_open_orders_become_placed_orders_in_time_order() -> None:
    events = normalize_file(DATA / "info_openOrders_2023-03-27.json")
    raw = json.loads((DATA / "info_openOrders_2023-03-27.json").read_text())
    assert len(events) == len(raw) == 196
    assert {e.kind for e in events} == {"order.placed"}
    # the oldest order, AVAX oid 62126842 (index 194 of the newest-first list), comes first
    first = events[0]
    assert (first.market_id, first.order_id, first.side) == ("AVAX", "62126842", "buy")
    assert (first.price, first.size, first.ts) == (15.578, 232.06, 1679935945307 * MS)
    by_id = {e.order_id: e for e in events}
    matic = by_id["62269971"]
    assert (matic.market_id, matic.side, matic.price, matic.size, matic.ts) == (
        "MATIC", "buy", 1.0357, 208.7, 1679940217356 * MS)
    arb = by_id["62269969"]
    assert (arb.side, arb.price, arb.size) == ("sell", 1.1795, 173.7)
    for o in raw:  # every order's values, straight from the file
        ev = by_id[str(o["oid"])]
        assert ev.price == float(o["limitPx"]) and ev.size == float(o["sz"])
        assert ev.side == {"B": "buy", "A": "sell"}[o["side"]]
        assert ev.ts == o["timestamp"] * MS
    assert [e.ts for e in events] == sorted(e.ts for e in events)


def test_info_frontend_open_orders_keep_trigger_details_and_drop_repeated_children() -> None:
    events = normalize_file(DATA / "info_frontendOpenOrders_2023-11-16.json")
    assert [e.order_id for e in events] == ["3184595907", "3184595906", "3184595905"]
    tp, sl, parent = events
    assert (parent.side, parent.price, parent.size) == ("buy", 10.0, 12.5)
    assert parent.extra["tif"] == "Gtc" and parent.extra["isTrigger"] is False
    assert (sl.side, sl.price, sl.size) == ("sell", 9.1954, 12.5)
    assert sl.extra["orderType"] == "Stop Market" and sl.extra["triggerPx"] == "9.995"
    assert (tp.side, tp.price) == ("sell", 9.2037)
    assert tp.extra["orderType"] == "Take Profit Market"
    assert all(e.ts == 1700126022555 * MS and e.market_id == "INJ" for e in events)


def test_info_historical_orders_cancel_and_reject() -> None:
    events = normalize_file(DATA / "info_historicalOrders_2025-08-22_trimmed5.json")
    summary = [(e.kind, e.market_id, e.order_id, e.price, e.size, e.ts,
                (e.extra or {}).get("status")) for e in events]
    placed_ts, status_ts = 1755863117780 * MS, 1755863118217 * MS
    assert summary == [
        # canceled resting (Alo) orders never seen open: their placement is inferred
        ("order.placed", "DYDX", "141682147400", 0.62613, 1500.3, placed_ts, "open"),
        ("order.placed", "DYDX", "141682147399", 0.62689, 1614.3, placed_ts, "open"),
        ("order.canceled", "TON", "141682155424", 3.2502, 81.7, status_ts, "iocCancelRejected"),
        ("order.canceled", "ORDI", "141682155423", 8.6328, 3.15, status_ts, "iocCancelRejected"),
        ("order.canceled", "GRIFFAIN", "141682155422", 0.035057, 529.0, status_ts,
         "iocCancelRejected"),
        ("order.canceled", "DYDX", "141682147400", 0.62613, 1500.3, status_ts, "canceled"),
        ("order.canceled", "DYDX", "141682147399", 0.62689, 1614.3, status_ts, "canceled"),
    ]
    assert events[0].extra["inferred"] is True
    assert all(e.extra["rejected"] is True for e in events[2:5])
    assert all(e.side == "buy" for e in events)


def test_info_user_fills_every_fill_checked() -> None:
    events = normalize_file(DATA / "info_userFills_2023-07-17.json")
    raw = json.loads((DATA / "info_userFills_2023-07-17.json").read_text())
    assert len(events) == len(raw) == 500
    assert {e.kind for e in events} == {"order.filled"}
    # the newest fills are the file's first three, one taker order (oid 189324432) sweeping
    # SUI bids in one millisecond; listed (and emitted) in execution order
    sweep = events[-3:]
    assert [(e.price, e.size) for e in sweep] == [(1.3189, 142.7), (1.3167, 3749.1),
                                                  (1.3093, 731.7)]
    for e in sweep:
        assert (e.market_id, e.side, e.aggressor, e.order_id) == ("SUI", "sell", True, "189324432")
        assert e.ts == 1683245884863 * MS
        assert e.tx_hash == "0x3d4770d0527317ef77c404017559cb0103000b34010cc95e97b437cbc3b6087a"
    assert sweep[0].extra["dir"] == "Close Long" and sweep[0].extra["closedPnl"] == "-0.25686"
    assert sweep[0].extra["startPosition"] == "4623.5"
    assert events[0].ts == 1683245555699 * MS
    assert sum(e.aggressor for e in events) == 239
    assert sum(e.side == "buy" for e in events) == 265
    # volume per coin equals the file's, exactly
    for coin in ("SUI", "BTC", "ETH"):
        want = sum(Decimal(f["sz"]) for f in raw if f["coin"] == coin)
        got = sum(Decimal(repr(e.size)) for e in events if e.market_id == coin)
        assert got == want
    assert all(e.actor_id is None for e in events)  # the response does not name the wallet


def test_info_user_fills_twice_emits_once() -> None:
    n = HyperliquidNormalizer()
    body = (DATA / "info_userFills_2023-07-17.json").read_bytes()
    assert len(n.normalize(body, None)) == 500
    assert n.normalize(body, None) == []
    assert n.duplicates == 500


# ---------------------------------------------------------------------------- shared (LGPL/none)


def test_nautilus_http_l2_book_btc() -> None:
    [ev] = normalize_file(shared("nautilus_http_l2_book_btc.json"))
    assert ev.kind == "book.snapshot" and ev.market_id == "BTC"
    assert ev.ts == 1761786491067 * MS
    assert ev.bids == [(110427.0, 4.11882), (110426.0, 0.31694), (110425.0, 1.30796),
                       (110424.0, 0.28581), (110423.0, 3.07847)]
    assert ev.asks == [(110428.0, 3.72573), (110430.0, 0.03586), (110431.0, 1.35809),
                       (110432.0, 1.35805), (110433.0, 1.27191)]
    assert ev.extra is None  # no order counts in this response


def test_nautilus_user_fills_dust_conversion() -> None:
    events = normalize_file(shared("nautilus_http_user_fills_dust_conversion.json"))
    got = [(e.market_id, e.side, e.price, e.size, e.aggressor, e.order_id, e.ts) for e in events]
    assert got == [
        ("@156", "buy", 160.32, 1.267, True, "228721726126", 1762697535160 * MS),
        ("@142", "sell", 104730.168, 0.0000086141, True, "229209068357", 1762732800049 * MS),
        ("MANTA", "sell", 0.08495, 114.3, True, "481029437374", 1782526675814 * MS),
        ("JUP", "buy", 0.22683, 440.0, False, "481029451261", 1782526678933 * MS),
        ("ARB", "buy", 0.07482, 8552.3, False, "481029459465", 1782526679879 * MS),
    ]
    dust = events[1]
    assert dust.extra["dir"] == "Spot Dust Conversion" and dust.extra["tid"] == 0
    assert dust.extra["feeToken"] == "USDC"
    assert events[0].extra["fee"] == "0.00088689" and events[0].extra["feeToken"] == "USOL"


def test_nautilus_ws_allmids_gives_nothing() -> None:
    assert normalize_file(shared("nautilus_ws_allmids.json")) == []


def test_nautilus_ws_user_fill_with_liquidation() -> None:
    path = shared("nautilus_ws_user_fill_liquidation.json")
    [ev] = normalize_file(path)
    assert (ev.kind, ev.market_id, ev.side, ev.price, ev.size) == ("order.filled", "BTC", "sell",
                                                                   66653.0, 0.001)
    assert ev.ts == 1781528065899 * MS and ev.aggressor is False
    assert ev.order_id == "55030848197" and ev.actor_id is None
    assert ev.extra["liquidation"] == {
        "liquidatedUser": "0x360878d351f05975e25f1807a27895e1e5e004fb",
        "markPx": "66607.0", "method": "market"}
    assert ev.extra["cloid"] == "0xe8d5fd7ebbb4c3cff4d1803472a11463"
    assert ev.extra["fee"] == "0.009997" and ev.extra["tid"] == 745210434703679
    # as the live source records it (wallet lane adds the wallet): the fill is attributed
    frame = orjson.loads(path.read_bytes())
    frame["user"] = "0xAbCd000000000000000000000000000000000001"
    [attributed] = HyperliquidNormalizer().normalize(frame, None)
    assert attributed.actor_id == "0xabcd000000000000000000000000000000000001"


def test_node_trades_both_wallets_and_the_taker() -> None:
    path = shared("node_trades_2025-06-24_from_order_book_server_test.jsonl")
    events = normalize_file(path)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == 25 and len(events) == 75
    first = events[:3]
    ts = 1750733796172847427  # 2025-06-24T02:56:36.172847427 UTC
    buy, sell, tape = first
    assert (buy.kind, buy.market_id, buy.ts, buy.side, buy.price, buy.size) == (
        "order.filled", "@151", ts, "buy", 2393.9, 0.1539)
    assert buy.actor_id == "0xecb63caa47c7c4e77f60f1ce858cf28dc2b82b00"
    assert buy.counterparty_id == "0xb65117c1e1006e7b2413fa90e96fcbe3fa83ed75"
    assert buy.order_id == "105686971733" and buy.aggressor is False
    assert buy.extra["start_pos"] == "1166.565307356"
    assert buy.extra["cloid"] == "0x1070fff92506b3ab5e5aec135e5a5ddd"
    assert (sell.actor_id, sell.counterparty_id, sell.order_id, sell.aggressor) == (
        "0xb65117c1e1006e7b2413fa90e96fcbe3fa83ed75", "0xecb63caa47c7c4e77f60f1ce858cf28dc2b82b00",
        "105686976226", True)
    assert (tape.kind, tape.side, tape.price, tape.size, tape.ts) == ("trade.tape", "sell",
                                                                      2393.9, 0.1539, ts)
    assert tape.tx_hash == "0x2b21750229be769650b604261eaac1018c00c45812652efbbdd35fe0ecb201a1"
    # every line: buyer = side_info[0], seller = side_info[1], tape side = the stated side
    # (all 25 agree with the order ids: the taker's oid is the newer one)
    for i, line in enumerate(lines):
        b, s, t = events[3 * i:3 * i + 3]
        assert b.actor_id == line["side_info"][0]["user"] and b.side == "buy"
        assert s.actor_id == line["side_info"][1]["user"] and s.side == "sell"
        assert t.side == {"B": "buy", "A": "sell"}[line["side"]]
        assert b.aggressor is (line["side"] == "B") and s.aggressor is (line["side"] == "A")
        assert b.price == s.price == t.price == float(line["px"])
        assert b.size == t.size == float(line["sz"])
        assert "side_ambiguous" not in (t.extra or {})
    # the last line's hash is all zeros (no tid in this format): still one trade
    last = events[-1]
    assert last.market_id == "ETH" and last.ts == 1750733797026660548 and last.size == 0.0051


def test_node_trades_duplicate_with_opposite_side_is_one_trade() -> None:
    path = shared("node_trades_2025-06-24_from_order_book_server_test.jsonl")
    line = json.loads(path.read_text().splitlines()[0])
    flipped = {**line, "side": "B"}
    n = HyperliquidNormalizer()
    assert len(n.normalize(line, None)) == 3
    assert n.normalize(flipped, None) == []  # the duplicate VENUES.md warns about
    # alone, the flipped line disagrees with the order ids: the taker is left unknown
    buy, sell, tape = HyperliquidNormalizer().normalize(flipped, None)
    assert buy.aggressor is None and sell.aggressor is None and tape.side is None
    assert tape.extra["side_ambiguous"] is True and tape.extra["side"] == "B"


def test_s3_archive_l2book_lines() -> None:
    path = shared("s3_archive_l2Book_BTC_20240101_h12_first40.jsonl")
    events = normalize_file(path)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(events) == len(lines) == 40
    first = events[0]
    assert first.kind == "book.snapshot" and first.market_id == "BTC"
    assert first.ts == 1704110399915 * MS  # the venue's time, not the archiver's
    assert first.bids[0] == (42727.0, 0.02265) and first.asks[0] == (42729.0, 3.83257)
    assert first.bids[-1] == (42623.0, 0.02933) and first.asks[-1] == (43000.0, 0.00262)
    assert events[1].ts == 1704110400367 * MS and events[1].bids[0] == (42723.0, 0.17828)
    for ev, line in zip(events, lines, strict=True):
        data = line["raw"]["data"]
        assert ev.ts == data["time"] * MS
        assert ev.bids == [(float(x["px"]), float(x["sz"])) for x in data["levels"][0]]
        assert ev.asks == [(float(x["px"]), float(x["sz"])) for x in data["levels"][1]]


def test_all_fixtures_pass_the_venue_conformance_check() -> None:
    frames = [p.read_bytes() for p in sorted(DATA.glob("info_*.json"))]
    if SHARED is not None:
        for p in sorted(SHARED.glob("*")):
            if p.suffix == ".jsonl":
                frames += p.read_bytes().splitlines()
            else:
                frames.append(p.read_bytes())
    events = check_venue(lambda: HyperliquidNormalizer(HyperliquidConfig()), frames)
    assert len(events) >= 500 + 196 + 7 + 3 + 1
