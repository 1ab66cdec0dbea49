"""Malformed frames: a reject naming the field, never another exception or a bad event.

Regression tests for the defects a mutation fuzzer found (K1..K8 and deep
nesting); every case here used to raise TypeError, ValueError or
RecursionError, or to emit an event with an infinite size, time 0, a time
past int64 or an ``extra`` that orjson cannot write.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from horizon_flow_venue_kalshi import KalshiNormalizer, units

from horizon_flow_core.errors import FrameError
from horizon_flow_core.events import MarketEvent, event_from_dict, event_to_dict
from horizon_flow_core.feeds.writer import write_events
from horizon_flow_core.testing import shared_fixture, shared_fixtures_dir

# plugins/venue-kalshi/tests/this.py -> parents[4] is the folder holding the repo and shared/
#: Kalshi's AsyncAPI examples (not redistributed: the shared fixtures folder)
DOC = "DOC_EXAMPLES_asyncapi_ws_v2.jsonl"
SSMD = Path(__file__).parent / "data" / "ssmd_ws_trade_2026-02-12.jsonl"

M = "KXTEST-26JAN01-T50"
T0 = 1_770_000_000_000_000_000
TS_MAX = units.MAX_TS_NS
DEPTH = 1000  # repr() of a list this deep raises RecursionError; orjson reads up to 1024

TRADE: dict[str, Any] = {"type": "trade", "sid": 11, "seq": 2, "msg": {
    "trade_id": "t-1", "market_ticker": M, "yes_price_dollars": "0.3600",
    "no_price_dollars": "0.6400", "count_fp": "136.00", "taker_side": "no",
    "ts": 1669149841, "ts_ms": 1669149841000}}


def trade(**msg: Any) -> dict[str, Any]:
    return {**TRADE, "msg": {**TRADE["msg"], **msg}}


def snapshot(**msg: Any) -> dict[str, Any]:
    return {"type": "orderbook_snapshot", "sid": 2, "seq": 2, "msg": {
        "market_ticker": M, "yes_dollars_fp": [["0.0800", "300.00"]],
        "no_dollars_fp": [["0.5400", "20.00"]], **msg}}


def delta(**msg: Any) -> dict[str, Any]:
    return {"type": "orderbook_delta", "sid": 2, "seq": 3, "msg": {
        "market_ticker": M, "price_dollars": "0.0800", "delta_fp": "5.00", "side": "yes",
        "ts_ms": 1669149841000, **msg}}


def ticker(**msg: Any) -> dict[str, Any]:
    return {"type": "ticker", "sid": 3, "msg": {
        "market_ticker": M, "yes_bid_dollars": "0.4500", "yes_ask_dollars": "0.5300",
        "yes_bid_size_fp": "300.00", "yes_ask_size_fp": "150.00", "ts": 1669149841, **msg}}


def fill(**msg: Any) -> dict[str, Any]:
    return {"type": "fill", "sid": 13, "msg": {
        "trade_id": "t-9", "order_id": "o-9", "market_ticker": M, "is_taker": True,
        "outcome_side": "yes", "yes_price_dollars": "0.7500", "count_fp": "278.00",
        "ts_ms": 1671899397000, **msg}}


def user_order(**msg: Any) -> dict[str, Any]:
    return {"type": "user_order", "sid": 22, "msg": {
        "order_id": "o-1", "ticker": M, "status": "resting", "outcome_side": "yes",
        "yes_price_dollars": "0.3500", "fill_count_fp": "0.00", "remaining_count_fp": "10.00",
        "initial_count_fp": "10.00", "client_order_id": "c-1", "created_ts_ms": 1733047200000,
        **msg}}


def deep_text(frame: dict[str, Any], *path: str) -> bytes:
    """``frame`` as JSON text with the value at ``path`` a list nested DEPTH deep."""
    frame = orjson.loads(orjson.dumps(frame))
    target = frame
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "__DEEP__"
    return orjson.dumps(frame).replace(b'"__DEEP__"', b"[" * DEPTH + b"1" + b"]" * DEPTH)


def valid(events: list[MarketEvent], tmp_path: Path | None = None) -> list[MarketEvent]:
    """Every event has sane values, round-trips, and is written by the feed writer."""
    for ev in events:
        assert type(ev.ts) is int and 0 < ev.ts <= TS_MAX, ev
        assert ev.seq is None or (type(ev.seq) is int and 0 <= ev.seq < 2**63), ev
        for name in ("price", "size", "bid", "ask", "bid_size", "ask_size"):
            v = getattr(ev, name)
            assert v is None or (type(v) is float and math.isfinite(v) and v >= 0), (name, ev)
        for lv in (ev.bids or []) + (ev.asks or []):
            assert all(math.isfinite(x) and x >= 0 for x in lv), ev
        assert event_from_dict(event_to_dict(ev)) == ev
        assert event_from_dict(orjson.loads(orjson.dumps(ev.to_dict()))) == ev
    if tmp_path is not None and events:
        assert write_events(tmp_path / "events.jsonl", events) == len(events)
    return events


def _doc_lines() -> list[bytes]:
    doc = shared_fixture("kalshi", DOC, __file__)  # skips when absent
    return [line for line in doc.read_bytes().splitlines() if line.strip()]


# ---------------------------------------------------------------------------- rejects


REJECTS: list[tuple[str, Any, int | None, str, str]] = [
    # (case, frame, recv_ts, field, words in the reason)
    ("K1 type is a list", '{"type":[]}', None, "type", "string message type"),
    ("K1 type is an object", {"type": {"a": 1}}, T0, "type", "string message type"),
    ("K1 type nested deep", b'{"type":' + b"[" * DEPTH + b"]" * DEPTH + b"}", T0, "type",
     "string message type"),
    ("K3 ISO year 0", trade(ts_ms=None, ts="0000-01-01T00:00:00Z"), None, "msg.ts", "year"),
    ("K3 ISO 30 February", trade(ts_ms=None, ts="2025-02-30T00:00:00Z"), None, "msg.ts",
     "not a valid time"),
    ("K3 ISO bad zone", trade(ts_ms=None, ts="2025-02-03T00:00:00+99:00"), None, "msg.ts",
     "zone"),
    ("K3 ISO non-ASCII digits", trade(ts_ms=None, ts="٢٠٢٥-02-03T00:00:00Z"), None, "msg.ts",
     "RFC 3339"),
    ("K4 superscript ms", trade(ts_ms="²"), None, "msg.ts_ms", "integer epoch time"),
    ("K4 superscript s", trade(ts_ms=None, ts="²"), None, "msg.ts", "RFC 3339"),
    ("K4 digit string too long", trade(ts_ms="9" * 5000), None, "msg.ts_ms", "2200"),
    ("K5 trade count 1e309", trade(count_fp="1e309"), T0, "msg.count_fp", "too large"),
    ("K5 trade count 10**400", trade(count_fp=10**400), T0, "msg.count_fp", "too large"),
    ("K5 legacy count 1e30", trade(count_fp=None, count=10**30), T0, "msg.count", "too large"),
    ("K5 snapshot level size", snapshot(yes_dollars_fp=[["0.08", "1e309"]]), T0,
     "msg.yes_dollars_fp[0][1]", "too large"),
    ("K5 snapshot NO level size", snapshot(no_dollars_fp=[["0.54", "1e309"]]), T0,
     "msg.no_dollars_fp[0][1]", "too large"),
    ("K5 delta increment", delta(delta_fp="-1e309"), T0, "msg.delta_fp", "too large"),
    ("K5 ticker bid size", ticker(yes_bid_size_fp="1e309"), T0, "msg.yes_bid_size_fp",
     "too large"),
    ("K5 ticker ask size", ticker(yes_ask_size_fp="1e309"), T0, "msg.yes_ask_size_fp",
     "too large"),
    ("K5 ticker volume", ticker(volume_fp="1e309"), T0, "msg.volume_fp", "too large"),
    ("K5 fill count", fill(count_fp="1e309"), T0, "msg.count_fp", "too large"),
    ("K5 fill fee", fill(fee_cost_dollars="1e309"), T0, "msg.fee_cost_dollars", "too large"),
    ("K5 order initial count", user_order(initial_count_fp="1e309"), T0,
     "msg.initial_count_fp", "too large"),
    ("K5 order remaining count", user_order(remaining_count_fp="1e309"), T0,
     "msg.remaining_count_fp", "too large"),
    ("K6 snapshot without any time", snapshot(), None, "msg.ts_ms", "no time"),
    ("K6 trade without any time", trade(ts=None, ts_ms=None), None, "msg.ts_ms", "no time"),
    ("K6 ts_ms 0", trade(ts_ms=0), None, "msg.ts_ms", "not after 1970"),
    ("K6 ts 0", trade(ts_ms=None, ts=0), None, "msg.ts", "not after 1970"),
    ("K6 created_ts_ms 0", user_order(created_ts_ms=0), T0, "msg.created_ts_ms",
     "not after 1970"),
    ("K6 ISO epoch", trade(ts_ms=None, ts="1970-01-01T00:00:00Z"), None, "msg.ts",
     "not after 1970"),
    ("K7 ts_ms 20 digits", trade(ts_ms="99999999999999999999"), None, "msg.ts_ms", "2200"),
    ("K7 ts_ms huge float", trade(ts_ms=1e300), None, "msg.ts_ms", "2200"),
    ("K7 ts_ms 10**30", trade(ts_ms=10**30), None, "msg.ts_ms", "2200"),
    ("K7 ISO year 9999", trade(ts_ms=None, ts="9999-12-31T23:59:59Z"), None, "msg.ts", "year"),
    ("K7 ISO end of 2200", trade(ts_ms=None, ts="2200-12-31T23:59:59Z"), None, "msg.ts",
     "2200"),
    ("K7 created_ts_ms huge", user_order(created_ts_ms=10**30), T0, "msg.created_ts_ms",
     "2200"),
    ("K7 recv_ts beyond 2200", trade(ts_ms=None, ts=None), 2**63 - 1, "recv_ts", "2200"),
    ("K7 recv_ts 0", trade(), 0, "recv_ts", "1970"),
    ("K7 recv_ts not an int", trade(), 1.5e18, "recv_ts", "integer epoch ns"),
    ("K7 recording recv_ts beyond 2200", {"venue": "kalshi", "recv_ts": 2**64 - 1,
                                          "frame": trade()}, None, "recv_ts", "2200"),
    ("K8 seq 2**64-1", {**trade(), "seq": 2**64 - 1}, T0, "seq", "integer in [0, 2**63-2]"),
    ("K8 seq negative", {**trade(), "seq": -(2**63)}, T0, "seq", "integer in [0, 2**63-2]"),
    ("K8 seq 10**30", {**trade(), "seq": 10**30}, T0, "seq", "integer in [0, 2**63-2]"),
    ("K8 sid 2**64-1", {**delta(), "sid": 2**64 - 1}, T0, "sid", "integer in [0, 2**63-2]"),
    ("K8 fill seq huge", {**fill(), "seq": 10**30}, T0, "seq", "integer in [0, 2**63-2]"),
    ("subaccount huge int", fill(subaccount=10**5000), T0, "msg.subaccount", "bit integer"),
    ("fill subaccount 2**64", fill(subaccount_number=2**64), T0, "msg.subaccount_number",
     "subaccount number"),
    ("order status not a string", user_order(status=10**30), T0, "msg.status",
     "expected a string"),
    ("order reason not a string", user_order(last_update_reason={"a": 1}), T0,
     "msg.last_update_reason", "expected a string"),
    ("trade id not a string", trade(trade_id=[1]), T0, "msg.trade_id", "string id"),
    ("order id not a string", user_order(order_id={"a": 1}), T0, "msg.order_id", "string id"),
    ("fill order id float", fill(order_id=1.5), T0, "msg.order_id", "string id"),
    ("nested recording line", {"recv_ts": T0, "frame": {"recv_ts": T0, "frame": trade()}}, None,
     "frame", "recording line inside"),
    ("recording lines nested deep", b'{"recv_ts":1,"frame":' * 1000 + b"{}" + b"}" * 1000,
     None, "frame", "recording line inside"),
]


@pytest.mark.parametrize(("frame", "recv_ts", "field", "words"),
                         [c[1:] for c in REJECTS], ids=[c[0] for c in REJECTS])
def test_malformed_frame_is_a_one_line_reject_naming_the_field(
        frame: Any, recv_ts: int | None, field: str, words: str) -> None:
    norm = KalshiNormalizer()
    with pytest.raises(FrameError) as info:
        norm.normalize(frame, recv_ts)
    err = info.value
    assert err.field == field, str(err)
    assert words in err.reason and "\n" not in str(err) and len(str(err)) < 200, str(err)
    # the normalizer goes on with good frames
    (ev,) = valid(norm.normalize({"type": "trade", "msg": trade(trade_id="after")["msg"]}, T0))
    assert ev.kind == "trade.tape" and ev.size == 136.0


DEEP: list[tuple[str, dict[str, Any], tuple[str, ...], str]] = [
    # (case, frame, path of the deep value, field named)
    ("seq", trade(), ("seq",), "seq"),
    ("sid", delta(), ("sid",), "sid"),
    ("trade_id", trade(), ("msg", "trade_id"), "msg.trade_id"),
    ("taker_side", trade(), ("msg", "taker_side"), "msg.taker_side"),
    ("ts_ms", trade(), ("msg", "ts_ms"), "msg.ts_ms"),
    ("ts", trade(ts_ms=None), ("msg", "ts"), "msg.ts"),
    ("count_fp", trade(), ("msg", "count_fp"), "msg.count_fp"),
    ("yes_price_dollars", trade(), ("msg", "yes_price_dollars"), "msg.yes_price_dollars"),
    ("delta side", delta(), ("msg", "side"), "msg.side"),
    ("snapshot levels", snapshot(), ("msg", "no_dollars_fp"), "msg.no_dollars_fp[0]"),
    ("fill order_id", fill(), ("msg", "order_id"), "msg.order_id"),
    ("fill client_order_id", fill(), ("msg", "client_order_id"), "msg.client_order_id"),
    ("fill subaccount", fill(), ("msg", "subaccount"), "msg.subaccount"),
    ("order order_id", user_order(), ("msg", "order_id"), "msg.order_id"),
    ("order client_order_id", user_order(), ("msg", "client_order_id"), "msg.client_order_id"),
    ("order status", user_order(), ("msg", "status"), "msg.status"),
    ("order reason", user_order(), ("msg", "last_update_reason"), "msg.last_update_reason"),
]


@pytest.mark.parametrize(("frame", "path", "field"), [c[1:] for c in DEEP],
                         ids=[c[0] for c in DEEP])
def test_deeply_nested_value_is_a_reject_not_a_recursion_error(
        frame: dict[str, Any], path: tuple[str, ...], field: str) -> None:
    text = deep_text(frame, *path)
    for payload in (text, orjson.loads(text)):
        with pytest.raises(FrameError) as info:
            KalshiNormalizer().normalize(payload, T0)
        assert info.value.field == field and "\n" not in str(info.value)
        assert len(str(info.value)) < 200


# ---------------------------------------------------------------------------- no exception


def test_error_frame_with_a_list_code_is_kept_without_an_exception() -> None:  # K2
    norm = KalshiNormalizer()
    assert norm.normalize('{"type":"error","sid":1,"msg":{"code":[]}}', None) == []
    assert norm.normalize({"type": "error", "sid": 1, "msg": {"code": {"a": 1}}}, T0) == []
    assert [e["code"] for e in norm.errors] == [[], {"a": 1}]
    # a terminal code still invalidates the subscription's books
    valid(norm.normalize(snapshot(), T0))
    (gap,) = valid(norm.normalize({"type": "error", "sid": 2, "msg": {"code": 25}}, None))
    assert gap.kind == "feed.gap" and gap.ts == T0 and gap.extra["code"] == 25


def test_seq_near_the_64_bit_limit_gives_a_writable_gap(tmp_path: Path) -> None:  # K8
    norm = KalshiNormalizer()
    valid(norm.normalize({**trade(), "seq": units.MAX_INT}, T0))
    (gap, tape) = valid(norm.normalize({**trade(trade_id="t-2"), "seq": 11}, T0), tmp_path)
    assert gap.kind == "feed.gap" and tape.kind == "trade.tape"
    assert gap.extra == {"sid": 11, "expected": 2**63 - 1, "got": 11, "channel": "trade",
                         "reason": "seq_gap"}


def test_time_fallback_without_a_first_time_rejects_then_recovers() -> None:  # K6
    norm = KalshiNormalizer()
    with pytest.raises(FrameError):
        norm.normalize(snapshot(), None)
    assert norm.books == {} and M not in norm.synced  # nothing half-applied
    (tape,) = valid(norm.normalize(trade(), None))
    # once a time was seen, a frame without one takes it (deterministic, no wall clock)
    book, quote = valid(norm.normalize(snapshot(), None))
    assert book.ts == quote.ts == tape.ts == 1669149841000 * 1_000_000


def test_state_fields_named_like_ours_do_not_break_lifecycle_status() -> None:
    norm = KalshiNormalizer()
    for history in (5, "x", [1, 2], None):
        assert norm.normalize({"type": "market_lifecycle_v2", "msg": {
            "market_ticker": M, "event_type": "activated", "history": history}}, T0) == []
        assert norm.normalize({"type": "event_lifecycle", "msg": {
            "event_ticker": "E", "history": history}}, T0) == []
    assert norm.market_status[M]["history"] == ["activated"] * 4
    assert norm.event_status["E"]["history"] == ["event_lifecycle"] * 4


def test_own_order_marks_on_deltas_are_checked(tmp_path: Path) -> None:
    norm = KalshiNormalizer()
    valid(norm.normalize(snapshot(), T0))
    book, seqs = norm.book_levels(M), dict(norm.last_seq)
    for bad, field in (({"subaccount": 2**64}, "msg.subaccount"),
                       ({"subaccount": [1]}, "msg.subaccount"),
                       ({"client_order_id": {"a": 1}}, "msg.client_order_id")):
        with pytest.raises(FrameError) as info:
            norm.normalize(delta(**bad), T0)
        assert info.value.field == field
        # rejected before any state changed: neither the book nor the sequence moved
        assert norm.book_levels(M) == book and norm.last_seq == seqs
    (ev, _) = valid(norm.normalize(delta(client_order_id="c-1", subaccount=3), T0), tmp_path)
    assert ev.extra == {"client_order_id": "c-1", "subaccount": 3}


def test_subscribed_with_a_deep_channel_is_kept_as_unknown() -> None:
    norm = KalshiNormalizer()
    text = deep_text({"type": "subscribed", "id": 1, "msg": {"sid": 4, "channel": 0}},
                     "msg", "channel")
    assert norm.normalize(text, T0) == []
    assert norm.sid_channel == {4: ""}


def test_values_at_the_limits_are_accepted(tmp_path: Path) -> None:
    norm = KalshiNormalizer()

    def trade(**msg: Any) -> dict[str, Any]:  # no seq: no gaps in between
        return {"type": "trade", "msg": {**TRADE["msg"], **msg}}

    events = [
        *norm.normalize(trade(count_fp="9" * 29, trade_id="a"), T0),
        *norm.normalize(trade(count_fp="-0", trade_id="b"), T0),
        *norm.normalize(trade(count_fp="1e-400", trade_id="c"), T0),
        *norm.normalize(trade(ts_ms=None, ts="2199-12-31T23:59:59.999999999Z",
                              trade_id="d"), None),
        *norm.normalize(trade(ts_ms=None, ts=None, trade_id="e"), TS_MAX),
        *norm.normalize(trade(ts_ms=1, trade_id="f"), None),
        *norm.normalize(trade(ts_ms=" 1669149841000 ", trade_id=12345), None),
    ]
    valid(events, tmp_path)
    assert [ev.size for ev in events[:3]] == [1e29 - 1, 0.0, 0.0]
    assert math.copysign(1.0, events[1].size) == 1.0  # -0 is written as 0.0
    assert events[3].ts == TS_MAX - 1 and events[4].ts == TS_MAX and events[5].ts == 1_000_000
    assert events[6].ts == 1669149841000 * 1_000_000 and events[6].extra == {"trade_id": "12345"}


# ---------------------------------------------------------------------------- units


def test_unit_helpers() -> None:
    assert units.is_ascii_digits("0123") and not units.is_ascii_digits("²")
    assert not units.is_ascii_digits("١٢") and not units.is_ascii_digits("")
    assert units.check_ns(1, "f") == 1 and units.check_ns(TS_MAX, "f") == TS_MAX
    assert TS_MAX == 7_258_118_400 * 10**9 < 2**63
    for bad in (0, -1, TS_MAX + 1, 10**5000):
        with pytest.raises(FrameError):
            units.check_ns(bad, "f")
    assert units.bounded_int(units.MAX_INT, "f") == 2**63 - 2
    for bad in (-1, units.MAX_INT + 1, True, 1.0, "1", None):
        with pytest.raises(FrameError):
            units.bounded_int(bad, "f")
    assert units.id_string(7, "f") == "7" and units.id_string("x", "f") == "x"
    for bad in (2**65, True, 1.5, None, [], {}):
        with pytest.raises(FrameError):
            units.id_string(bad, "f")
    with pytest.raises(FrameError, match="too large"):
        units.to_decimal("1e30", "f")
    assert units.as_float(units.to_decimal("9.99e29", "f")) == 9.99e29


# ---------------------------------------------------------------------------- fixtures


def _fixture_events(lines: list[bytes], recv_ts: int | None) -> list[MarketEvent]:
    """Events of every line, fresh and in one long-lived normalizer; rejects are allowed."""
    out: list[MarketEvent] = []
    long_lived = KalshiNormalizer()
    for line in lines:
        for norm in (KalshiNormalizer(), long_lived):
            try:
                out.extend(norm.normalize(line, recv_ts))
            except FrameError as exc:
                assert exc.field and "\n" not in str(exc)
    return out


@pytest.mark.parametrize("recv_ts", [None, T0])
def test_fixture_events_round_trip_and_are_written(recv_ts: int | None, tmp_path: Path) -> None:
    lines = [line for line in SSMD.read_bytes().splitlines() if line.strip()]
    folder = shared_fixtures_dir("kalshi", __file__)
    if folder is not None and (folder / DOC).exists():
        lines = _doc_lines() + lines
    events = valid(_fixture_events(lines, recv_ts), tmp_path)
    assert sum(ev.kind == "trade.tape" for ev in events) >= 20
    back = [event_from_dict(orjson.loads(line))
            for line in (tmp_path / "events.jsonl").read_bytes().splitlines()]
    assert back == events


def test_doc_snapshot_without_a_receive_time_is_rejected_not_at_time_zero() -> None:
    lines = _doc_lines()
    with pytest.raises(FrameError) as info:
        KalshiNormalizer().normalize(lines[4], None)  # the orderbook_snapshot example
    assert info.value.field == "msg.ts_ms" and "no time" in info.value.reason


def test_doc_trade_reproducers() -> None:
    t = orjson.loads(_doc_lines()[7])  # the `trade` example
    assert t["type"] == "trade"

    def with_msg(**msg: Any) -> dict[str, Any]:
        return {**t, "msg": {**t["msg"], **msg}}

    for frame, field in (
            (with_msg(ts_ms=None, ts="0000-01-01T00:00:00Z"), "msg.ts"),    # K3
            (with_msg(ts_ms="²"), "msg.ts_ms"),                              # K4
            (with_msg(count_fp="1e309"), "msg.count_fp"),                    # K5
            (with_msg(ts_ms="99999999999999999999"), "msg.ts_ms"),           # K7
            (with_msg(ts_ms=None, ts="9999-12-31T23:59:59Z"), "msg.ts"),     # K7
            ({**t, "seq": 18446744073709551615}, "seq")):                    # K8
        with pytest.raises(FrameError) as info:
            KalshiNormalizer().normalize(orjson.dumps(frame), None)
        assert info.value.field == field
    (ev,) = valid(KalshiNormalizer().normalize(orjson.dumps(t), None))
    assert ev.kind == "trade.tape"
