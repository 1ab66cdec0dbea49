"""Every Kalshi sample in the shared fixtures parses, with each value checked."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from horizon_flow_venue_kalshi import KalshiConfig, KalshiNormalizer

from horizon_flow_core.events import event_from_dict
from horizon_flow_core.testing import shared_fixture

# plugins/venue-kalshi/tests/this.py -> parents[4] is the folder holding the repo and shared/
#: Kalshi's AsyncAPI examples (not redistributed: the shared fixtures folder)
DOC = "DOC_EXAMPLES_asyncapi_ws_v2.jsonl"
SSMD = Path(__file__).parent / "data" / "ssmd_ws_trade_2026-02-12.jsonl"
RECV = 1_800_000_000_000_000_000


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def _roundtrip(events):
    # every event must satisfy the pinned schema, as a feed-log reader sees it
    for ev in events:
        assert event_from_dict(orjson.loads(orjson.dumps(ev.to_dict()))) == ev
    return events


@pytest.fixture
def doc_lines() -> list[bytes]:
    doc = shared_fixture("kalshi", DOC, __file__)  # skips when absent
    return _lines(doc)


def test_doc_examples_every_line(doc_lines: list[bytes]) -> None:
    norm = KalshiNormalizer()
    out = [_roundtrip(norm.normalize(line, RECV)) for line in doc_lines]
    assert len(out) == 12

    # client commands, the subscribed ack and the error response carry no events
    assert out[0] == [] and out[1] == [] and out[2] == [] and out[3] == []
    assert norm.sid_channel == {1: "orderbook_delta"}
    assert list(norm.errors)[-1]["code"] == 7
    assert list(norm.errors)[-1]["msg"] == "Unknown subscription ID"

    snap, quote = out[4]
    assert snap.kind == "book.snapshot" and snap.market_id == "FED-23DEC-T3.00"
    assert snap.seq == 2 and snap.ts == RECV  # snapshots carry no time of their own
    assert snap.bids == [(0.22, 333.0), (0.08, 300.0)]
    # NO bids 0.54 x 20 and 0.56 x 146 are YES asks at 0.46 and 0.44
    assert snap.asks == [(0.44, 146.0), (0.46, 20.0)]
    assert (quote.kind, quote.bid, quote.bid_size, quote.ask, quote.ask_size) == (
        "quote.update", 0.22, 333.0, 0.44, 146.0)

    # the example delta takes 54 off a YES bid level at 0.96 the example book
    # does not have: the level ends empty (size 0) and the clamp is counted
    (delta,) = out[5]
    assert (delta.kind, delta.side, delta.price, delta.size, delta.seq) == (
        "book.delta", "buy", 0.96, 0.0, 3)
    assert delta.ts == 1669149841000 * 1_000_000  # ts_ms wins over the ISO ts
    assert norm.books["FED-23DEC-T3.00"].negative_clamps == 1

    (tick,) = out[6]
    assert (tick.kind, tick.bid, tick.ask, tick.bid_size, tick.ask_size) == (
        "quote.update", 0.45, 0.53, 300.0, 150.0)
    assert tick.ts == 1669149841000 * 1_000_000
    assert tick.extra == {"source": "ticker", "last_price": 0.48, "volume": 33896.0,
                          "open_interest": 20422.0}

    (trade,) = out[7]
    assert (trade.kind, trade.market_id, trade.side, trade.price, trade.size, trade.seq) == (
        "trade.tape", "HIGHNY-22DEC23-B53.5", "sell", 0.36, 136.0, 2)
    assert trade.ts == 1669149841 * 1_000_000_000
    assert trade.extra == {"trade_id": "d91bc706-ee49-470d-82d8-11418bda6fed"}
    assert trade.actor_id is None  # public data names nobody

    (fill,) = out[8]
    assert (fill.kind, fill.actor_id, fill.order_id, fill.side, fill.price, fill.size) == (
        "order.filled", "subaccount:3", "ee587a1c-8b87-4dcf-b721-9f6f790619fa", "buy", 0.75,
        278.0)
    assert fill.aggressor is True and fill.ts == 1671899397000 * 1_000_000
    assert fill.extra == {"trade_id": "d91bc706-ee49-470d-82d8-11418bda6fed",
                          "client_order_id": "my-order-1", "fee": 0.01, "post_position": 500.0}

    assert out[9] == [] and out[10] == []
    status = norm.market_status["INXD-23SEP14-B4487"]
    assert status["history"] == ["created", "price_level_structure_updated"]
    assert status["event_type"] == "price_level_structure_updated"
    assert status["price_level_structure"] == "deci_cent"
    assert (status["open_ts"], status["close_ts"]) == (1694635200, 1694721600)
    assert status["additional_metadata"]["event_ticker"] == "INXD-23SEP14"

    (placed,) = out[11]
    assert (placed.kind, placed.market_id, placed.actor_id, placed.side, placed.price,
            placed.size) == ("order.placed", "FED-23DEC-T3.00", "subaccount:0", "buy", 0.35, 10.0)
    assert placed.order_id == "ee587a1c-8b87-4dcf-b721-9f6f790619fa"
    assert placed.ts == 1733047200000 * 1_000_000
    assert placed.extra == {"status": "resting", "client_order_id": "my-order-1"}


SSMD_EXPECTED = [
    # (seq, market, yes cents, count, taker side, ts seconds)
    (10, "KXSOLD-26FEB1217-T79.9999", 77, 75, "buy", 1770897981),
    (48, "KXBTCD-26FEB1217-T67749.99", 57, 90, "sell", 1770897984),
    (49, "KXBTCD-26FEB1217-T67749.99", 61, 100, "buy", 1770897985),
    (50, "KXBTCD-26FEB1217-T67749.99", 61, 90, "buy", 1770897985),
    (51, "KXBTCD-26FEB1217-T67749.99", 62, 26, "buy", 1770897985),
    (52, "KXBTCMINMON-BTC-26FEB28-5750000", 26, 41, "buy", 1770897988),
    (53, "KXBTCMINMON-BTC-26FEB28-5750000", 27, 83, "buy", 1770897988),
    (54, "KXBTCMINMON-BTC-26FEB28-5750000", 28, 26, "buy", 1770897988),
    (55, "KXBTCMINMON-BTC-26FEB28-5750000", 28, 88, "buy", 1770897988),
    (56, "KXBTCMINMON-BTC-26FEB28-5750000", 28, 167, "buy", 1770897988),
]


def test_ssmd_live_trades_legacy_and_current_fields_agree() -> None:
    norm = KalshiNormalizer()
    events = [ev for line in _lines(SSMD) for ev in _roundtrip(norm.normalize(line, None))]
    trades = [ev for ev in events if ev.kind == "trade.tape"]
    assert len(trades) == 10
    for ev, (seq, market, cents, count, side, ts) in zip(trades, SSMD_EXPECTED, strict=True):
        assert (ev.seq, ev.market_id, ev.side, ev.size, ev.ts) == (
            seq, market, side, float(count), ts * 1_000_000_000)
        assert ev.price == cents / 100
    # both encodings in each frame give the same numbers, read either way
    for line, ev in zip(_lines(SSMD), trades, strict=True):
        frame = orjson.loads(line)
        legacy = {k: v for k, v in frame["msg"].items() if not k.endswith(("_dollars", "_fp"))}
        current = {k: v for k, v in frame["msg"].items() if k not in ("yes_price", "no_price",
                                                                     "count")}
        for msg in (legacy, current):
            (again,) = KalshiNormalizer().normalize({"type": "trade", "msg": msg}, None)
            assert (again.price, again.size, again.side) == (ev.price, ev.size, ev.side)
    # sid 2 jumps from seq 10 to 48: one trade-channel gap, reported once
    gaps = [ev for ev in events if ev.kind == "feed.gap"]
    assert len(gaps) == 1
    assert gaps[0].market_id == "KXBTCD-26FEB1217-T67749.99" and gaps[0].seq == 48
    assert gaps[0].extra == {"sid": 2, "expected": 11, "got": 48, "channel": "trade",
                             "reason": "seq_gap"}
    # an archive filtered to a few markets can turn trade gaps off
    quiet = KalshiNormalizer(KalshiConfig(trade_gap_events=False))
    kinds = [ev.kind for line in _lines(SSMD) for ev in quiet.normalize(line, None)]
    assert kinds == ["trade.tape"] * 10


def test_fixtures_give_identical_events_twice(doc_lines: list[bytes]) -> None:
    def run() -> bytes:
        norm = KalshiNormalizer()
        out = [ev.to_dict() for line in doc_lines + _lines(SSMD)
               for ev in norm.normalize(line, RECV)]
        return orjson.dumps(out, option=orjson.OPT_SORT_KEYS)

    assert run() == run()
