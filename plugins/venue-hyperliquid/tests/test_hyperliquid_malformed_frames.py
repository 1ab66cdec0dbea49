"""Malformed frames found by fuzzing: refused with a reason naming the field, never crash.

A bad frame raises :class:`FrameError`; a bad item inside a good frame is
dropped and reported by ``take_rejects()`` while the rest of the frame is
kept. No other exception type may escape on any JSON-decodable input, and
nothing emitted may carry a value the feed writer cannot write (non-finite
prices, times outside 1970..2200, integers beyond 64 bits, deep nesting).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from horizon_flow_venue_hyperliquid import HyperliquidNormalizer

from horizon_flow_core.errors import FrameError
from horizon_flow_core.events import MarketEvent, event_from_dict, event_to_dict
from horizon_flow_core.feeds.writer import write_events
from horizon_flow_core.testing import shared_fixture, shared_fixtures_dir

DATA = Path(__file__).resolve().parent / "data"
# /work/main/plugins/venue-hyperliquid/tests/x.py -> parents[4] is /work, beside the repo
SHARED = shared_fixtures_dir("hyperliquid", __file__)  # None when absent
NODE_TRADES = "node_trades_2025-06-24_from_order_book_server_test.jsonl"

TS_MAX = 7_258_118_400 * 10**9  # 2200-01-01, the latest time accepted

F: dict[str, Any] = {"coin": "SUI", "px": "1.3", "sz": "1", "side": "A", "time": 1683245884863,
                     "oid": 1, "tid": 7, "crossed": True}
ORDER: dict[str, Any] = {"coin": "BTC", "side": "B", "limitPx": "100", "sz": "1", "oid": 5,
                         "timestamp": 1700126022555}
BOOK: dict[str, Any] = {"coin": "X", "time": 1700000000000,
                        "levels": [[{"px": "1", "sz": "1", "n": 1}], []]}
DIFF: dict[str, Any] = {"time": "2025-06-24T02:56:36.1", "user": "0xa", "oid": 1, "coin": "BTC",
                        "side": "B", "px": "100", "raw_book_diff": {"new": {"sz": "1"}}}


def nested(depth: int) -> Any:
    """A list nested ``depth`` levels deep."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def shared(name: str) -> Path:
    return shared_fixture("hyperliquid", name, __file__)  # skips when absent


def node_trade() -> dict[str, Any]:
    """Line 0 of the node_trades sample (two side_info entries, ISO time)."""
    line = shared(NODE_TRADES).read_bytes().splitlines()[0]
    frame: dict[str, Any] = orjson.loads(line)
    return frame


def deep_text(frame: dict[str, Any], key: str, depth: int = 1000) -> bytes:
    """JSON text of ``frame`` with ``frame[key]`` a list nested ``depth`` deep (orjson
    reads up to 1024 levels; Python's ``repr`` of such a value overflows the stack)."""
    body = orjson.dumps({**frame, key: "__DEEP__"})
    return body.replace(b'"__DEEP__"', b"[" * depth + b"1" + b"]" * depth)


def valid(events: list[MarketEvent], tmp_path: Path) -> None:
    """Every event has sane values, round-trips, and the feed writer writes it."""
    for ev in events:
        assert 0 < ev.ts <= TS_MAX
        for v in (ev.price, ev.size, ev.bid, ev.ask, ev.bid_size, ev.ask_size):
            assert v is None or (math.isfinite(v) and v >= 0)
        assert event_from_dict(event_to_dict(ev)) == ev
    assert write_events(tmp_path / "events.jsonl", events) == len(events)


def refused(frame: Any, field: str) -> FrameError:
    n = HyperliquidNormalizer()
    with pytest.raises(FrameError) as info:
        n.normalize(frame, None)
    assert info.value.field == field, str(info.value)
    assert f"field {field!r}" in str(info.value)
    assert "\n" not in str(info.value)
    return info.value


# ---------------------------------------------------------------------------- whole frames refused


@pytest.mark.parametrize(("frame", "field"), [
    # H1: a channel that is not a string (unhashable)
    ('{"channel":[],"data":{}}', "channel"),
    ({"channel": {"a": 1}, "data": {}}, "channel"),
    # H4: "²" passes str.isdigit() but not int()
    ({"coin": "X", "time": "²", "levels": [[], []]}, "time"),
    ({**DIFF, "time": "²"}, "time"),
    # H6: a finite decimal whose float is inf, in order statuses, open orders and book diffs
    ([{**ORDER, "limitPx": "1e309"}], "order.limitPx"),
    ([{**ORDER, "sz": "1e309"}], "order.sz"),
    ([{**ORDER, "origSz": "1e309"}], "order.origSz"),
    ([{"order": {**ORDER, "limitPx": "1e309"}, "status": "open",
       "statusTimestamp": 1700126022555}], "order.limitPx"),
    ({**DIFF, "px": "1e309"}, "px"),
    ({**DIFF, "raw_book_diff": {"new": {"sz": "1e309"}}}, "raw_book_diff.new.sz"),
    ({**DIFF, "raw_book_diff": {"update": {"origSz": "1", "newSz": "1e309"}}},
     "raw_book_diff.update.newSz"),
    ({**BOOK, "levels": [[{"px": 10**400, "sz": "1"}], []]}, "px"),  # int beyond float
    # H7: times at or before the epoch, or beyond 2200 (and beyond int64 nanoseconds)
    ({**BOOK, "time": 0}, "time"),
    ({**BOOK, "time": "0"}, "time"),
    ({**BOOK, "time": "99999999999999999999"}, "time"),
    ({**BOOK, "time": 10**30}, "time"),
    ({**BOOK, "time": 1e300}, "time"),
    ({"channel": "bbo", "data": {"coin": "X", "time": 0,
                                 "bbo": [{"px": "1", "sz": "1", "n": 1}, None]}}, "time"),
    ([{**ORDER, "timestamp": 0}], "timestamp"),
    ([{"order": ORDER, "status": "open", "statusTimestamp": 0}], "statusTimestamp"),
    ({**DIFF, "time": "9999-12-31T23:59:59Z"}, "time"),
    ({**DIFF, "time": "2200-01-01T00:00:00.000000001"}, "time"),
    ({**DIFF, "time": "0000-01-01T00:00:00"}, "time"),  # H5 (calendar.timegm year 0)
    ({**DIFF, "time": "2025-02-30T00:00:00"}, "time"),
    ({**DIFF, "time": "２０２５-01-01T00:00:00"}, "time"),  # non-ASCII digits
    ({"block_time": "0000-01-01T00:00:00", "events": []}, "block_time"),
    # block numbers and wrappers
    ({"block_number": 10**30, "block_time": "2025-07-27T00:00:00", "events": []},
     "block_number"),
    ({"time": "2024-01-01T12:00:01", "ver_num": 1,
      "raw": {"time": "2024-01-01T12:00:01", "raw": {"channel": "pong"}}}, "raw"),
    # order ids beyond 64 bits (Python objects only: orjson reads them as floats)
    ([{**ORDER, "oid": 2**64}], "oid"),
    # unknown fields copied to ``extra`` must be writable
    ([{**ORDER, "tif": 10**30}], "tif"),
    ({**BOOK, "zz_unknown": nested(300)}, "zz_unknown"),  # deeper than orjson writes
    ({"channel": "bbo", "data": {"coin": "X", "time": 1700000000000,
                                 "bbo": [{"px": "1", "sz": "1", "n": nested(300)}, None]}},
     "bbo[0].n"),
    ({**BOOK, "levels": [[{"px": "1", "sz": "1", "n": 2**64}], []]}, "n"),
])
def test_bad_frames_raise_frame_error_naming_the_field(frame: Any, field: str) -> None:
    refused(frame, field)


@pytest.mark.parametrize(("frame", "field"), [
    ({**ORDER, "coin": "__DEEP__"}, "coin"),
    ({**ORDER, "side": "__DEEP__"}, "order.side"),
    ({**ORDER, "oid": "__DEEP__"}, "oid"),
    ({**ORDER, "limitPx": "__DEEP__"}, "order.limitPx"),
    ({**ORDER, "timestamp": "__DEEP__"}, "timestamp"),
    ({**BOOK, "time": "__DEEP__"}, "time"),
    ({**DIFF, "time": "__DEEP__"}, "time"),
    ({**DIFF, "oid": "__DEEP__"}, "oid"),
    ({**DIFF, "raw_book_diff": "__DEEP__"}, "raw_book_diff"),
    ({"order": ORDER, "status": "__DEEP__", "statusTimestamp": 1700126022555}, "status"),
    ({"block_number": "__DEEP__", "block_time": "2025-07-27T00:00:00", "events": []},
     "block_number"),
    ({**BOOK, "zz_unknown": "__DEEP__"}, "zz_unknown"),
    ({"channel": "__DEEP__", "data": {}}, "channel"),
])
def test_deeply_nested_values_are_refused_without_recursion_errors(frame: dict[str, Any],
                                                                   field: str) -> None:
    key = next(k for k, v in frame.items() if v == "__DEEP__")
    refused(deep_text(frame, key, 1000), field)


def test_venue_error_with_deep_data_is_refused() -> None:
    with pytest.raises(FrameError, match="venue sent an error"):
        HyperliquidNormalizer().normalize(deep_text({"channel": "error"}, "data", 1000), None)


# ---------------------------------------------------------------------------- bad items dropped


def test_h2_snapshot_with_a_bad_fill_time_keeps_the_good_fills(tmp_path: Path) -> None:
    n = HyperliquidNormalizer()
    for bad_time in (None, "soon", [], 0, "²"):
        frame = {"channel": "userFills", "data": {"user": "0xa", "isSnapshot": True, "fills": [
            F, {**F, "tid": 8, "time": bad_time}, {**F, "tid": 9, "time": F["time"] + 1}]}}
        n = HyperliquidNormalizer()
        events = n.normalize(frame, None)
        assert [(e.kind, e.extra["tid"]) for e in events] == [("order.filled", 7),
                                                               ("order.filled", 9)]
        [(reason, item)] = n.take_rejects()
        assert "field 'time'" in reason and item["tid"] == 8
        valid(events, tmp_path)


def test_h3_block_fill_with_an_unhashable_coin_or_tid_keeps_the_block(tmp_path: Path) -> None:
    block = {"block_number": 1, "block_time": "2025-07-27T00:00:00",
             "events": [["0xa", F], ["0xb", {**F, "coin": []}]]}
    n = HyperliquidNormalizer()
    events = n.normalize(block, None)
    assert {(e.kind, e.actor_id) for e in events} == {("order.filled", "0xa"),
                                                      ("trade.tape", None)}
    [(reason, item)] = n.take_rejects()
    assert "field 'coin'" in reason and item[0] == "0xb"
    valid(events, tmp_path)
    # a list tid does not pair the fills and is not a trade id, but the fill itself is fine
    block = {"block_number": 2, "block_time": "2025-07-27T00:00:00",
             "events": [["0xa", {**F, "tid": []}], ["0xb", {**F, "tid": [1], "side": "B",
                                                             "crossed": False}]]}
    events = HyperliquidNormalizer().normalize(block, None)
    assert sorted(e.actor_id for e in events if e.kind == "order.filled") == ["0xa", "0xb"]
    assert all(e.counterparty_id is None for e in events)
    valid(events, tmp_path)


def test_bad_extra_in_one_fill_drops_only_that_fill(tmp_path: Path) -> None:
    frame = {"channel": "userFills", "data": {"user": "0xa", "fills": [
        F, {**F, "tid": 8, "feeToken": 10**30}]}}
    n = HyperliquidNormalizer()
    events = n.normalize(frame, None)
    assert [e.extra["tid"] for e in events] == [7]
    [(reason, _)] = n.take_rejects()
    assert "field 'feeToken'" in reason and "64-bit" in reason
    valid(events, tmp_path)


def test_deep_children_of_open_orders_are_refused() -> None:
    item: dict[str, Any] = {**ORDER, "oid": 100, "children": []}
    for i in range(10):
        item = {**ORDER, "oid": 101 + i, "children": [item]}
    with pytest.raises(FrameError) as info:
        HyperliquidNormalizer().normalize([item], None)
    assert info.value.field == "children"


# ---------------------------------------------------------------------------- accepted, but safe


def test_h4_non_ascii_digit_oid_in_node_trade_is_kept_as_a_string(tmp_path: Path) -> None:
    nt = node_trade()
    frame = {**nt, "side_info": [{**nt["side_info"][0], "oid": "²"}, nt["side_info"][1]]}
    n = HyperliquidNormalizer()
    events = n.normalize(frame, None)
    assert [e.order_id for e in events if e.kind == "order.filled"][0] == "²"
    assert n.take_rejects() == []
    valid(events, tmp_path)


@pytest.mark.parametrize(("field", "value"), [
    ("time", "0000-01-01T00:00:00"),  # H5
    ("time", "9999-12-31T23:59:59Z"),  # H7
    ("time", "²"),
    ("px", "1e309"),
])
def test_node_trade_bad_fields_are_refused(field: str, value: Any) -> None:
    refused({**node_trade(), field: value}, field)


def test_h8_oid_beyond_64_bits_stays_a_string_in_extra(tmp_path: Path) -> None:
    n = HyperliquidNormalizer()
    placed = n.normalize([{**ORDER, "oid": 11, "cloid": "c"}], None)
    amended = n.normalize([{**ORDER, "oid": "99999999999999999999", "cloid": "c",
                            "limitPx": "101"}], None)
    assert [e.kind for e in amended] == ["order.amended"]
    assert amended[0].order_id == "11"
    assert amended[0].extra["oid"] == "99999999999999999999"
    assert amended[0].extra["replaces_oid"] == 11
    valid(placed + amended, tmp_path)


def test_extra_nesting_within_the_bound_is_kept(tmp_path: Path) -> None:
    deep = nested(100)
    [ev] = HyperliquidNormalizer().normalize({**BOOK, "zz": deep}, None)
    assert ev.extra["zz"] == deep
    valid([ev], tmp_path)


def test_times_at_the_bounds() -> None:
    n = HyperliquidNormalizer()
    [ev] = n.normalize({**DIFF, "time": "2199-12-31T23:59:59.999999999"}, None)
    assert ev.ts == TS_MAX - 1
    [ev] = n.normalize({**BOOK, "time": 1}, None)
    assert ev.ts == 1_000_000


# ---------------------------------------------------------------------------- fixtures still fine


def _fixture_files() -> list[Path]:
    files = sorted(DATA.glob("*.json"))
    if SHARED is not None:
        files += sorted(p for p in SHARED.iterdir() if p.suffix in (".json", ".jsonl"))
    return files


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.name)
def test_fixture_events_round_trip_and_are_written(path: Path, tmp_path: Path) -> None:
    n = HyperliquidNormalizer()
    events: list[MarketEvent] = []
    if path.suffix == ".jsonl":
        for line in path.read_bytes().splitlines():
            if line.strip():
                events += n.normalize(line, None)
    else:
        events = n.normalize(path.read_bytes(), None)
    assert n.take_rejects() == []
    valid(events, tmp_path)


def test_shared_fixtures_present_or_skipped() -> None:
    shared(NODE_TRADES)  # skips, with the reason, when the shared folder is absent


@pytest.mark.parametrize("channel", ["l2Book", "bbo"])
def test_a_rejected_book_frame_does_not_count_as_seen(channel: str) -> None:
    # the corrected re-send of a rejected frame must not be dropped as its duplicate
    if channel == "l2Book":
        data: dict[str, Any] = {"coin": "X", "time": 1700000000000,
                                "levels": [[{"px": "1", "sz": "1", "n": 1}], []]}
    else:
        data = {"coin": "X", "time": 1700000000000, "bbo": [{"px": "1", "sz": "1"}, None]}
    norm = HyperliquidNormalizer()
    with pytest.raises(FrameError) as info:
        norm.normalize({"channel": channel, "data": {**data, "extra_field": 2**70}}, None)
    assert info.value.field == "extra_field"
    assert norm.normalize({"channel": channel, "data": data}, None)
    assert norm.duplicates == 0
