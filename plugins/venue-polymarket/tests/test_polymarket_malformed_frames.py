"""Malformed frames are one-line rejects naming the field; no other exception, no bad event.

The reproducers are the fuzzer's (PM1-PM10 and the deep-nesting cases); the
frames they mutate are written out here so the tests run without the shared
fixtures. Every event the real fixtures give must pass the core's own
boundary check, round-trip through the pinned JSON form and be written by the
feed writer.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from horizon_flow_venue_polymarket.convert import TS_MAX_NS, TS_MIN_NS
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer

from horizon_flow_core.errors import FrameError
from horizon_flow_core.event_checks import check_event
from horizon_flow_core.events import MarketEvent, event_from_dict, event_to_dict
from horizon_flow_core.feeds.writer import RawRecorder, write_events

TOKEN = "21742633143463906290569050155826241533067272736897614950488156847949938836455"
OTHER = "48331043336612883890938759509493159234755048973500640148014422747788308965732"
CONDITION = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
TX = "0x5fbfe1691c52958dfa3f98dc75ef516f5a9d4b370aead26598d06e3db069839f"
RECV = 1_750_000_000_000_000_000

BOOK = {"event_type": "book", "asset_id": TOKEN, "market": CONDITION,
        "timestamp": "1786604072222", "hash": "ed47eb91f3c7985fac1cb18cb7c19535eddd3c0a",
        "bids": [{"price": "0.01", "size": "3149725.72"}, {"price": "0.07", "size": "182528.55"}],
        "asks": [{"price": "0.99", "size": "156606.14"}, {"price": "0.08", "size": "228198.28"}],
        "tick_size": "0.01", "last_trade_price": "0.92"}
LTP = {"event_type": "last_trade_price", "asset_id": TOKEN, "market": CONDITION,
       "price": "0.46", "side": "SELL", "size": "0.2", "fee_rate_bps": "0",
       "timestamp": "1770921571394", "transaction_hash": TX.upper().replace("0X", "0x")}
PRICE_CHANGE = {"event_type": "price_change", "market": CONDITION, "timestamp": "1757908892351",
                "price_changes": [{"asset_id": TOKEN, "price": "0.5", "size": "200", "side": "BUY",
                                   "hash": "56621a121a47ed9333273e21c83b660cff37ae50",
                                   "best_bid": "0.5", "best_ask": "1"}]}
LEGACY_CHANGE = {"event_type": "price_change", "asset_id": TOKEN, "market": CONDITION,
                 "changes": [{"price": "0.4", "side": "SELL", "size": "3300"}],
                 "timestamp": "1723967931411", "hash": "abc"}
BEST = {"event_type": "best_bid_ask", "asset_id": TOKEN, "market": CONDITION, "best_bid": "0.73",
        "best_ask": "0.77", "spread": "0.04", "timestamp": "1766789469958"}
ORDER = {"event_type": "order", "type": "PLACEMENT", "id": "0x0f76f4dc", "owner": "3e2c94ca",
         "maker_address": "0xa3D82Ed56F4c68d2328Fb8c29e568Ba2cAF7d7c8", "market": CONDITION,
         "asset_id": TOKEN, "side": "BUY", "price": "0.513", "original_size": "5",
         "size_matched": "0", "status": "LIVE", "order_type": "GTC", "outcome": "Yes",
         "created_at": "1725842520", "timestamp": "1725842520990"}
TR = {"event_type": "trade", "id": "0c357886-b9d3-44bb-9aa9-72d8abc90e6e",
      "taker_order_id": "0x4505aada", "market": CONDITION, "asset_id": TOKEN, "side": "BUY",
      "size": "5", "fee_rate_bps": "0", "price": "0.489", "status": "CONFIRMED",
      "match_time": "1726043102", "outcome": "Yes",
      "maker_address": "0xa3D82Ed56F4c68d2328Fb8c29e568Ba2cAF7d7c8", "transaction_hash": TX,
      "maker_orders": [{"order_id": "0x6dd169f8", "maker_address": "0x1bFDF7224C358405A486b5F",
                        "matched_amount": "5", "price": "0.489", "fee_rate_bps": "0",
                        "asset_id": TOKEN, "outcome": "Yes"}],
      "trader_side": "TAKER"}
RTDS = {"topic": "activity", "type": "trades", "timestamp": 1750000000000,
        "payload": {"asset": TOKEN, "conditionId": CONDITION, "side": "BUY", "price": 0.5,
                    "size": 10, "timestamp": 1750000000, "transactionHash": TX,
                    "proxyWallet": "0xW", "outcome": "Yes", "outcomeIndex": 0}}
NEW_MARKET = {"event_type": "new_market", "market": CONDITION, "timestamp": "1766790415550",
              "assets_ids": [TOKEN, OTHER], "outcomes": ["Yes", "No"], "slug": "some-market",
              "order_price_min_tick_size": "0.01"}
GAMMA = {"conditionId": CONDITION, "slug": "some-market", "outcomes": '["Yes", "No"]',
         "clobTokenIds": f'["{TOKEN}", "{OTHER}"]', "orderPriceMinTickSize": 0.01}

# A JSON array nested deeper than Python's repr can print (orjson decodes up to 1024 levels)
# and deeper than orjson can encode again (255).
DEEP = "DEEP-VALUE"


def deep_text(frame: dict[str, Any]) -> str:
    """``frame`` as JSON text with every ``DEEP`` value a 1000-deep array."""
    return orjson.dumps(frame).decode().replace(f'"{DEEP}"', "[" * 1000 + "1" + "]" * 1000)


def with_(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with ``path`` (dotted; list indices as numbers) set."""
    out = copy.deepcopy(base)
    *parents, last = path.split(".")
    target: Any = out
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return out


def assert_sound(events: list[MarketEvent], tmp_path: Path | None = None) -> None:
    """Valid values, a faithful round trip, and the feed writer takes them."""
    for ev in events:
        assert check_event(ev) is None, (check_event(ev), ev)
        assert TS_MIN_NS <= ev.ts <= TS_MAX_NS
        for value in (ev.price, ev.size, ev.bid, ev.ask):
            assert value is None or value >= 0.0
        for level in (ev.bids or []) + (ev.asks or []):
            assert level[0] >= 0.0 and level[1] >= 0.0
        assert event_from_dict(event_to_dict(ev)) == ev
        assert event_from_dict(orjson.loads(orjson.dumps(event_to_dict(ev)))) == ev
    if tmp_path is not None and events:
        assert write_events(tmp_path / "events.jsonl", events) == len(events)
        recorder = RawRecorder(tmp_path / "raw.jsonl", "polymarket")
        try:
            for ev in events:
                recorder.event(ev)
        finally:
            recorder.close()


def assert_reject(frame: Any, needle: str, recv_ts: int | None = None) -> FrameError:
    with pytest.raises(FrameError) as info:
        PolymarketNormalizer().normalize(frame, recv_ts)
    message = str(info.value)
    assert needle in message, message
    assert "\n" not in message and len(message) < 300, message
    return info.value


# ----------------------------------------------------------------------------- the base frames


@pytest.mark.parametrize("frame", [BOOK, LTP, PRICE_CHANGE, LEGACY_CHANGE, BEST, ORDER, TR, RTDS],
                         ids=["book", "ltp", "price_change", "legacy_change", "best", "order",
                              "trade", "rtds"])
def test_the_base_frames_are_good(frame, tmp_path):
    events = PolymarketNormalizer().normalize(copy.deepcopy(frame), None)
    assert events
    assert_sound(events, tmp_path)


# ----------------------------------------------------------------------------- the reproducers

REJECTS: list[tuple[str, Callable[[], Any], str]] = [
    # PM1: an unhashable event_type
    ("PM1 event_type list text", lambda: '{"event_type":[]}', "'event_type'"),
    ("PM1 event_type object", lambda: {"event_type": {"a": 1}}, "'event_type'"),
    ("PM1 event_type number", lambda: with_(BOOK, "event_type", 5), "'event_type'"),
    # PM2: an unhashable dedupe hash
    ("PM2 book hash list", lambda: with_(BOOK, "hash", [1, 2]), "'hash'"),
    ("PM2 book hash object", lambda: with_(BOOK, "hash", {"a": 1}), "'hash'"),
    ("PM2 price_changes hash", lambda: with_(PRICE_CHANGE, "price_changes.0.hash", [1]),
     "'price_changes[0].hash'"),
    ("PM2 legacy changes hash", lambda: with_(LEGACY_CHANGE, "hash", {"a": [1]}), "'hash'"),
    # PM3: non-finite timestamps
    ("PM3 timestamp Infinity", lambda: with_(BOOK, "timestamp", "Infinity"), "'timestamp'"),
    ("PM3 timestamp inf", lambda: with_(BOOK, "timestamp", "inf"), "'timestamp'"),
    ("PM3 timestamp 1e309", lambda: with_(BOOK, "timestamp", "1e309"), "'timestamp'"),
    ("PM3 timestamp -Infinity", lambda: with_(LTP, "timestamp", "-Infinity"), "'timestamp'"),
    ("PM3 timestamp NaN", lambda: with_(LTP, "timestamp", "NaN"), "'timestamp'"),
    ("PM3 timestamp float inf", lambda: with_(BEST, "timestamp", float("inf")), "'timestamp'"),
    ("PM3 timestamp float nan", lambda: with_(BEST, "timestamp", float("nan")), "'timestamp'"),
    # PM4: a transaction hash that is not a string
    ("PM4 tape transaction_hash", lambda: with_(LTP, "transaction_hash", 5),
     "'transaction_hash'"),
    ("PM4 trade transaction_hash", lambda: with_(TR, "transaction_hash", 5),
     "'transaction_hash'"),
    ("PM4 rtds transactionHash", lambda: with_(RTDS, "payload.transactionHash", 5),
     "'payload.transactionHash'"),
    ("PM4 data api transaction_hash", lambda: {**RTDS["payload"], "transactionHash": None,
                                               "transaction_hash": [TX]}, "'transaction_hash'"),
    # PM5: an unhashable RTDS topic
    ("PM5 topic list", lambda: {"topic": [], "payload": {}}, "'topic'"),
    ("PM5 topic object", lambda: with_(RTDS, "topic", {"a": 1}), "'topic'"),
    # PM6: a maker order's fee rate
    ("PM6 fee abc", lambda: with_(TR, "maker_orders.0.fee_rate_bps", "abc"),
     "'maker_orders[0].fee_rate_bps'"),
    ("PM6 fee list", lambda: with_(TR, "maker_orders.0.fee_rate_bps", []),
     "'maker_orders[0].fee_rate_bps'"),
    ("PM6 fee NaN", lambda: with_(TR, "maker_orders.0.fee_rate_bps", "NaN"),
     "'maker_orders[0].fee_rate_bps'"),
    ("PM6 fee 10**400", lambda: with_(TR, "maker_orders.0.fee_rate_bps", 10**400),
     "'maker_orders[0].fee_rate_bps'"),
    ("PM6 taker fee", lambda: with_(TR, "fee_rate_bps", "1e309"), "'fee_rate_bps'"),
    # PM7: negative or non-finite prices and sizes, in every event kind
    ("PM7 tape size", lambda: with_(LTP, "size", "-5"), "'size'"),
    ("PM7 tape price", lambda: with_(LTP, "price", -0.5), "'price'"),
    ("PM7 tape price inf", lambda: with_(LTP, "price", "1e309"), "'price'"),
    ("PM7 book bid price", lambda: with_(BOOK, "bids.0.price", "-5"), "'bids[0].price'"),
    ("PM7 book bid size", lambda: with_(BOOK, "bids.1.size", "-1"), "'bids[1].size'"),
    ("PM7 book ask pair", lambda: with_(BOOK, "asks.0", [-5, -1]), "'asks[0].price'"),
    ("PM7 book last_trade_price", lambda: with_(BOOK, "last_trade_price", "-0.1"),
     "'last_trade_price'"),
    ("PM7 book tick_size 10**400", lambda: with_(BOOK, "tick_size", 10**400), "'tick_size'"),
    ("PM7 delta size", lambda: with_(PRICE_CHANGE, "price_changes.0.size", "-5"),
     "'price_changes[0].size'"),
    ("PM7 delta price", lambda: with_(PRICE_CHANGE, "price_changes.0.price", "-5"),
     "'price_changes[0].price'"),
    ("PM7 delta best_bid", lambda: with_(PRICE_CHANGE, "price_changes.0.best_bid", "-5"),
     "'price_changes[0].best_bid'"),
    ("PM7 legacy change size", lambda: with_(LEGACY_CHANGE, "changes.0.size", "-5"),
     "'changes[0].size'"),
    ("PM7 quote bid", lambda: with_(BEST, "best_bid", "-5"), "'best_bid'"),
    ("PM7 quote ask", lambda: with_(BEST, "best_ask", "-Infinity"), "'best_ask'"),
    ("PM7 spread NaN", lambda: with_(BEST, "spread", "NaN"), "'spread'"),
    ("PM7 order price", lambda: with_(ORDER, "price", "-5"), "'price'"),
    ("PM7 order original_size", lambda: with_(ORDER, "original_size", "-5"), "'original_size'"),
    ("PM7 order size_matched", lambda: with_(ORDER, "size_matched", "-1"), "'size_matched'"),
    ("PM7 fill price", lambda: with_(TR, "maker_orders.0.price", "-5"),
     "'maker_orders[0].price'"),
    ("PM7 fill size", lambda: with_(TR, "maker_orders.0.matched_amount", "-5"),
     "'maker_orders[0].matched_amount'"),
    ("PM7 taker price", lambda: with_(TR, "price", "-5"), "'price'"),
    ("PM7 wallet size", lambda: with_(RTDS, "payload.size", "-5"), "'payload.size'"),
    ("PM7 wallet price", lambda: with_(RTDS, "payload.price", -1), "'payload.price'"),
    # PM8: a taker order id that is not a string (an int is taken as its digits, see below)
    ("PM8 taker_order_id object", lambda: with_(TR, "taker_order_id", {"a": 1}),
     "'taker_order_id'"),
    ("PM8 taker_order_id list", lambda: with_(TR, "taker_order_id", [7]), "'taker_order_id'"),
    ("PM8 maker order_id float", lambda: with_(TR, "maker_orders.0.order_id", 1.5),
     "'maker_orders[0].order_id'"),
    # PM9: timestamps beyond 2200 (and before 2001)
    ("PM9 timestamp 20 digits", lambda: with_(BOOK, "timestamp", "99999999999999999999"),
     "'timestamp'"),
    ("PM9 timestamp 1e308", lambda: with_(BOOK, "timestamp", 1e308), "'timestamp'"),
    ("PM9 timestamp 10**30", lambda: with_(LTP, "timestamp", 10**30), "'timestamp'"),
    ("PM9 timestamp 2300 in s", lambda: with_(BEST, "timestamp", "10413792000"), "'timestamp'"),
    ("PM9 timestamp 1970", lambda: with_(BEST, "timestamp", "5"), "'timestamp'"),
    ("PM9 timestamp negative", lambda: with_(BEST, "timestamp", "-5"), "'timestamp'"),
    ("PM9 match_time 1e308", lambda: with_(TR, "match_time", 1e308), "'match_time'"),
    ("PM9 match_time 20 digits", lambda: with_(TR, "match_time", "99999999999999999999"),
     "'match_time'"),
    ("PM9 created_at 1e308", lambda: with_(ORDER, "created_at", 1e308), "'created_at'"),
    ("PM9 created_at 20 digits", lambda: with_(ORDER, "created_at", "99999999999999999999"),
     "'created_at'"),
    ("PM9 rtds timestamp", lambda: with_(RTDS, "payload.timestamp", 1e308),
     "'payload.timestamp'"),
    # extra values the feed writer cannot encode
    ("extra order_type 10**30", lambda: with_(ORDER, "order_type", 10**30), "'order_type'"),
    ("extra order_type object", lambda: with_(ORDER, "order_type", {"a": 1}), "'order_type'"),
    ("extra outcome list", lambda: with_(RTDS, "payload.outcome", ["Yes"]), "'payload.outcome'"),
    ("extra trader_side nan", lambda: with_(TR, "trader_side", float("nan")), "'trader_side'"),
    ("extra market list", lambda: with_(BOOK, "market", [CONDITION]), "'market'"),
    ("extra conditionId object", lambda: with_(RTDS, "payload.conditionId", {}),
     "'payload.conditionId'"),
    ("status list", lambda: with_(TR, "status", ["MATCHED"]), "'status'"),
    ("order type list", lambda: with_(ORDER, "type", []), "'type'"),
    ("new_market slug list", lambda: with_(NEW_MARKET, "slug", ["x"]), "'slug'"),
    ("new_market outcome object", lambda: with_(NEW_MARKET, "outcomes", [{"a": 1}, "No"]),
     "'outcomes'"),
    ("new_market token float", lambda: with_(NEW_MARKET, "assets_ids", [0.5]), "'assets_ids'"),
    ("gamma condition list", lambda: with_(GAMMA, "conditionId", [1]), "'condition_id'"),
    ("metadata nested lists", lambda: {"data": json.loads("[" * 900 + "]" * 900),
                                       "next_cursor": ""}, "too deep"),
    # deep nesting (1000 levels, JSON text): no RecursionError in the error message
    ("deep event_type", lambda: deep_text(with_(BOOK, "event_type", DEEP)), "'event_type'"),
    ("deep book level", lambda: deep_text(with_(BOOK, "bids.0", DEEP)), "'bids[0]'"),
    ("deep level price", lambda: deep_text(with_(BOOK, "bids.0.price", DEEP)), "'bids[0].price'"),
    ("deep hash", lambda: deep_text(with_(BOOK, "hash", DEEP)), "'hash'"),
    ("deep market", lambda: deep_text(with_(BOOK, "market", DEEP)), "'market'"),
    ("deep legacy hash", lambda: deep_text(with_(LEGACY_CHANGE, "hash", DEEP)), "'hash'"),
    ("deep side", lambda: deep_text(with_(PRICE_CHANGE, "price_changes.0.side", DEEP)),
     "'price_changes[0].side'"),
    ("deep order type", lambda: deep_text(with_(ORDER, "type", DEEP)), "'type'"),
    ("deep order_type", lambda: deep_text(with_(ORDER, "order_type", DEEP)), "'order_type'"),
    ("deep order status", lambda: deep_text(with_(ORDER, "status", DEEP)), "'status'"),
    ("deep trade status", lambda: deep_text(with_(TR, "status", DEEP)), "'status'"),
    ("deep taker_order_id", lambda: deep_text(with_(TR, "taker_order_id", DEEP)),
     "'taker_order_id'"),
    ("deep topic", lambda: deep_text(with_(RTDS, "topic", DEEP)), "'topic'"),
    ("deep rtds slug", lambda: deep_text(with_(RTDS, "payload.slug", DEEP)), "'payload.slug'"),
    ("deep new_market token", lambda: deep_text(with_(NEW_MARKET, "assets_ids.0", DEEP)),
     "'assets_ids'"),
    ("deep gamma outcomes", lambda: deep_text(with_(GAMMA, "outcomes", DEEP)), "'outcomes'"),
    ("deep gamma token", lambda: deep_text(with_(GAMMA, "clobTokenIds", [DEEP])),
     "'clobTokenIds'"),
]


@pytest.mark.parametrize(("make", "needle"), [(m, n) for _, m, n in REJECTS],
                         ids=[name for name, _, _ in REJECTS])
def test_reproducer_is_a_frame_error_naming_the_field(make, needle):
    assert_reject(make(), needle)


@pytest.mark.parametrize("recv_ts", [None, RECV])
def test_an_int_taker_order_id_becomes_its_digits(recv_ts):
    events = PolymarketNormalizer().normalize(with_(TR, "taker_order_id", 7), recv_ts)
    taker = next(e for e in events if e.aggressor)
    assert taker.order_id == "7"
    assert_sound(events)


# ----------------------------------------------------------------------------- chain logs

LOG_REJECTS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("PM10 blockTimestamp -5", lambda d: d.update(blockTimestamp="-5"), "'blockTimestamp'"),
    ("PM10 blockTimestamp 0x0", lambda d: d.update(blockTimestamp="0x0"), "'blockTimestamp'"),
    ("PM10 blockTimestamp 1970", lambda d: d.update(blockTimestamp=5), "'blockTimestamp'"),
    ("PM10 blockTimestamp 2300", lambda d: d.update(blockTimestamp=hex(10_413_792_000)),
     "'blockTimestamp'"),
    ("PM10 blockTimestamp 40 hex digits", lambda d: d.update(blockTimestamp="0x" + "f" * 40),
     "'blockTimestamp'"),
    ("blockNumber beyond 64 bits", lambda d: d.update(blockNumber="0x" + "f" * 20),
     "'blockNumber'"),
    ("logIndex negative", lambda d: d.update(logIndex="-1"), "'logIndex'"),
    ("address list", lambda d: d.update(address=[1]), "'address'"),
    ("data number", lambda d: d.update(data=5), "'data'"),
    ("transactionHash number", lambda d: d.update(transactionHash=5), "'transactionHash'"),
    ("_tx gasPrice not hex", lambda d: d.update(_tx={"gasPrice": "0xzz"}), "'_tx.gasPrice'"),
    ("_tx nonce list", lambda d: d.update(_tx={"nonce": [1]}), "'_tx.nonce'"),
    ("_tx from number", lambda d: d.update(_tx={"from": 5}), "'_tx.from'"),
]


@pytest.mark.parametrize(("mutate", "needle"), [(m, n) for _, m, n in LOG_REJECTS],
                         ids=[name for name, _, _ in LOG_REJECTS])
def test_chain_log_reproducer_is_a_frame_error_naming_the_field(pm_chain_logs, mutate, needle):
    log = copy.deepcopy(pm_chain_logs[0])
    mutate(log)
    assert_reject(log, needle)


def test_deep_address_in_a_log_text(pm_chain_logs):
    assert_reject(deep_text(dict(pm_chain_logs[0], address=DEEP)), "'address'")


def test_block_time_from_the_map_is_bounded_too(pm_chain_logs):
    log = {k: v for k, v in pm_chain_logs[0].items() if k != "blockTimestamp"}
    with pytest.raises(FrameError, match="blockTimestamp"):
        PolymarketNormalizer(block_timestamps={90840326: 0}).normalize(log, None)


# ----------------------------------------------------------------------------- state stays clean


def test_a_rejected_book_leaves_no_dedupe_key():
    n = PolymarketNormalizer()
    with pytest.raises(FrameError, match="market"):
        n.normalize(with_(BOOK, "market", [1]), None)
    assert len(n.normalize(copy.deepcopy(BOOK), None)) == 1  # not taken for a duplicate


def test_a_rejected_trade_leaves_no_trade_status():
    n = PolymarketNormalizer()
    with pytest.raises(FrameError, match="taker_order_id"):
        n.normalize(with_(TR, "taker_order_id", {"a": 1}), None)
    assert n.trade_status(TR["id"]) is None
    assert len(n.normalize(copy.deepcopy(TR), None)) == 2


def test_a_rejected_log_leaves_no_dedupe_key(pm_chain_logs):
    n = PolymarketNormalizer()
    with pytest.raises(FrameError, match="_tx.gasPrice"):
        n.normalize(dict(pm_chain_logs[0], _tx={"gasPrice": "0xzz"}), None)
    assert len(n.normalize(dict(pm_chain_logs[0]), None)) == 2


def test_a_rejected_order_leaves_no_match_progress():
    n = PolymarketNormalizer()
    with pytest.raises(FrameError, match="type"):
        n.normalize(with_(ORDER, "type", "MYSTERY"), None)
    assert not n.state.trade_status


# ----------------------------------------------------------------------------- policy kept


def test_prices_above_one_are_kept_as_before():
    """The wire's prices are probabilities; values above 1 are not rejected at decoding."""
    [ev] = PolymarketNormalizer().normalize(with_(LTP, "price", "1.5"), None)
    assert ev.price == 1.5


def test_negative_fee_rates_and_spreads_stay_allowed():
    [ev] = PolymarketNormalizer().normalize(with_(BEST, "spread", "-0.01"), None)
    assert ev.extra["spread"] == -0.01
    events = PolymarketNormalizer().normalize(with_(TR, "maker_orders.0.fee_rate_bps", "-5"),
                                              None)
    assert {e.extra["fee_rate_bps"] for e in events if not e.aggressor} == {-5.0}


def test_zero_and_empty_times_still_fall_back_to_the_receive_time():
    for stamp in (0, "0", ""):
        [ev] = PolymarketNormalizer().normalize(with_(BEST, "timestamp", stamp), RECV)
        assert ev.ts == RECV


@pytest.mark.parametrize(("value", "ns"), [
    ("1725842520", 1725842520 * 10**9),
    ("1725842520990", 1725842520990 * 10**6),
    (1725842520.5, 1725842520500000000),
    ("1725842520990123", 1725842520990123000),
    ("1725842520990123456", 1725842520990123456),
])
def test_epoch_units_are_still_read_from_the_magnitude(value, ns):
    [ev] = PolymarketNormalizer().normalize(with_(BEST, "timestamp", value), None)
    assert ev.ts == ns


# ----------------------------------------------------------------------------- real fixtures

_NOT_FRAMES = {"ctf_exchange_v1_events_abi.json", "nautilus_chain_order_filled_taker_fees.json"}


def _fixture_frames(directory: Path) -> list[tuple[str, bytes]]:
    out = []
    for path in sorted(directory.iterdir()):
        if path.name in _NOT_FRAMES:
            continue
        if path.suffix == ".jsonl":
            out += [(f"{path.name}#{i}", line)
                    for i, line in enumerate(path.read_bytes().splitlines()) if line.strip()]
        elif path.suffix == ".json":
            out.append((path.name, path.read_bytes()))
    return out


@pytest.mark.parametrize("recv_ts", [None, RECV])
def test_every_fixture_event_round_trips_and_is_written(pm_shared, pm_data, tmp_path, recv_ts):
    frames = _fixture_frames(pm_shared) + _fixture_frames(pm_data)
    long_lived = PolymarketNormalizer()
    emitted: list[MarketEvent] = []
    for _, raw in frames:
        events = PolymarketNormalizer().normalize(raw, recv_ts)
        assert_sound(events)
        emitted += events
        emitted += long_lived.normalize(orjson.loads(raw), recv_ts)
    assert len(emitted) > 100
    assert_sound(emitted, tmp_path)


_POISON = [("list", [1, 2]), ("object", {"a": 1}), ("10**30", 10**30), ("nan", float("nan")),
           ("-5", "-5"), ("Infinity", "Infinity"), ("bool", True)]


def test_poisoned_fields_of_fixture_frames_reject_or_stay_sound(pm_shared, pm_data, tmp_path):
    """Each top-level field of each real frame, set to each poison: a FrameError, or events
    that are still valid and writable (a field the normalizer ignores)."""
    kept = rejected = 0
    for _, raw in _fixture_frames(pm_shared) + _fixture_frames(pm_data):
        frame = orjson.loads(raw)
        if not isinstance(frame, dict):
            continue
        for key in frame:
            for _, poison in _POISON:
                try:
                    events = PolymarketNormalizer().normalize(with_(frame, key, poison), RECV)
                except FrameError as exc:
                    assert "\n" not in str(exc)
                    rejected += 1
                    continue
                assert_sound(events)
                kept += 1
    assert rejected > 100 and kept > 0


def test_integer_ids_longer_than_256_bits_are_refused_by_field() -> None:
    from horizon_flow_venue_polymarket.convert import text

    # str() of an int of more than 4,300 digits raises ValueError, not a FrameError
    assert text({"id": 2**255}, "id") == str(2**255)  # a token id's size is fine
    for frame, field in ((with_(BOOK, "hash", 10**5000), "hash"),
                         (with_(NEW_MARKET, "assets_ids", [10**5000]), "assets_ids")):
        with pytest.raises(FrameError) as info:
            PolymarketNormalizer().normalize(frame, None)
        assert info.value.field == field
