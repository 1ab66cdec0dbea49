"""The venue-plugin boundary: events a plugin builds that no engine or log can take."""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

from horizon_flow_core import MarketEvent, make_event
from horizon_flow_core.daemon.venue import VenueRunner
from horizon_flow_core.event_checks import MAX_TS, check_event, split_valid
from horizon_flow_core.events import event_to_dict
from horizon_flow_core.feeds import RejectLog, iter_raw_recording
from horizon_flow_core.feeds.reader import read_feed_log
from horizon_flow_core.feeds.writer import write_events

TS = 1_732_147_200_000_000_000
GOOD = make_event("toy", "M", "order.placed", TS, seq=3, actor_id="a", order_id="o1",
                  side="buy", price=0.5, size=10.0, extra={"note": [1, 2]})
SNAP = make_event("toy", "M", "book.snapshot", TS, bids=[[0.4, 5.0]], asks=[[0.6, 0.0]])


def deep(n: int) -> Any:
    value: Any = 1
    for _ in range(n):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"ts": 0}, "ts", "outside"),
        ({"ts": -5}, "ts", "outside"),
        ({"ts": MAX_TS + 1}, "ts", "outside"),
        ({"ts": 2**64}, "ts", "outside"),
        ({"ts": float(TS)}, "ts", "integer"),
        ({"seq": 2**64}, "seq", "64 bits"),
        ({"price": float("inf")}, "price", "finite"),
        ({"price": float("nan")}, "price", "finite"),
        ({"price": "0.5"}, "price", "number"),
        ({"size": -1.0}, "size", "negative"),
        ({"size": float("1e309")}, "size", "finite"),
        ({"order_id": 7}, "order_id", "string"),
        ({"actor_id": ["a"]}, "actor_id", "string"),
        ({"market_id": ""}, "market_id", "non-empty"),
        ({"extra": {"oid": 2**70}}, "extra", "JSON"),
        ({"extra": {"deep": deep(300)}}, "extra", "JSON"),
        # what the feed reader would refuse on replay: never recorded as if valid
        ({"kind": "bogus"}, "kind", "unknown kind"),
        ({"side": "up"}, "side", "expected 'buy' or 'sell'"),
        ({"aggressor": 1}, "aggressor", "true or false"),
        ({"price": None}, "price", "required for kind order.placed"),
    ],
)
def test_invalid_events_are_named_by_field(changes: dict[str, Any], field: str, words: str
                                           ) -> None:
    bad = attrs.evolve(GOOD, **changes)
    err = check_event(bad)
    assert err is not None and err.field == field
    assert words in err.reason and "venue plugin" in err.reason


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"bids": [(0.4, -5.0)]}, "bids[0] size"),
        ({"asks": [(float("inf"), 1.0)]}, "asks[0] price"),
        ({"asks": [(0.6,)]}, "asks[0]"),
        ({"bid_size": float("nan")}, "bid_size"),
    ],
)
def test_invalid_book_values(changes: dict[str, Any], field: str) -> None:
    err = check_event(attrs.evolve(SNAP, **changes))
    assert err is not None and err.field == field


def test_valid_events_pass_and_can_be_written(tmp_path: Path) -> None:
    assert check_event(GOOD) is None and check_event(SNAP) is None
    assert check_event(attrs.evolve(GOOD, ts=MAX_TS)) is None
    # what passes is what the feed writer and the audit log (orjson) can write
    write_events(tmp_path / "ok.jsonl", [GOOD, SNAP])
    assert orjson.loads((tmp_path / "ok.jsonl").read_bytes().splitlines()[0]) == \
        event_to_dict(GOOD)
    good, bad = split_valid([GOOD, attrs.evolve(GOOD, size=-1.0), SNAP])
    assert good == [GOOD, SNAP] and [e.field for _, e in bad] == ["size"]


class HalfBadNormalizer:
    """Each frame {"size": x} gives one placement of size x: negative sizes are a plugin bug."""

    venue = "toy"

    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        ev = attrs.evolve(GOOD, size=float(frame["size"]))
        return [ev, attrs.evolve(GOOD, order_id="o2")]


def test_scan_of_a_recording_rejects_the_invalid_event_and_keeps_the_rest(tmp_path: Path
                                                                          ) -> None:
    p = tmp_path / "rec.jsonl"
    p.write_text('{"venue": "toy", "recv_ts": 1, "frame": {"size": 5}}\n'
                 '{"venue": "toy", "recv_ts": 2, "frame": {"size": -5}}\n')
    rejects = RejectLog()
    events = list(iter_raw_recording(p, HalfBadNormalizer(), rejects))
    assert [(e.order_id, e.size) for e in events] == [("o1", 5.0), ("o2", 10.0), ("o2", 10.0)]
    assert rejects.count == 1
    assert "rec.jsonl:2, field 'size'" in rejects.examples[0]
    assert "negative" in rejects.examples[0]


def test_daemon_venue_rejects_invalid_events_and_queues_the_rest() -> None:
    q: queue.Queue[Any] = queue.Queue(maxsize=4)
    runner = VenueRunner("toy", object(), q, clock=lambda: TS)
    ctx = runner.context()
    ctx.emit([GOOD, attrs.evolve(GOOD, ts=2**64), SNAP])
    item = q.get_nowait()
    assert item is not None and item[1] == [GOOD, SNAP]
    assert runner.rejects == 1 and runner.events_emitted == 2
    ctx.emit([attrs.evolve(GOOD, price=float("nan"))])  # nothing valid: nothing queued
    assert q.empty() and runner.rejects == 2


def test_event_problem_names_what_a_venue_emitted_wrong() -> None:
    from horizon_flow_core.event_checks import event_problem

    assert event_problem(GOOD) is None and event_problem(SNAP) is None
    assert event_problem({"kind": "trade.tape"}) == "emitted dict, not a MarketEvent"
    bad = event_problem(attrs.evolve(GOOD, size=-1.0))
    assert bad is not None and bad.startswith("emitted an invalid event") and "size" in bad
    # valid values that do not come back the same from the feed log's form: levels
    # as lists where a replay reads tuples
    listed = event_problem(attrs.evolve(SNAP, bids=[[0.4, 5.0]]))
    assert listed == "emitted an event that does not round-trip"


def test_a_feed_line_with_a_deeply_nested_level_is_one_reject(tmp_path: Path) -> None:
    # the reject message once formatted the level with repr(), which raised
    # RecursionError on a 1,000-deep list and ended the whole read
    p = tmp_path / "feed.jsonl"
    # written by hand: orjson encodes at most 255 levels (it decodes 1,024)
    bad = orjson.dumps({**event_to_dict(SNAP), "bids": "DEEP"}).replace(
        b'"DEEP"', b"[" + b"[" * 1000 + b"1" + b"]" * 1000 + b"]")
    good, snap = orjson.dumps(event_to_dict(GOOD)), orjson.dumps(event_to_dict(SNAP))
    p.write_bytes(b"\n".join([good, bad, snap]) + b"\n")
    rejects = RejectLog()
    events = list(read_feed_log(p, rejects))
    assert events == [GOOD, SNAP]
    assert rejects.count == 1 and "field 'bids[0]'" in rejects.examples[0]


def test_a_recording_line_with_a_receive_time_out_of_range_is_one_reject(tmp_path: Path
                                                                          ) -> None:
    p = tmp_path / "rec.jsonl"
    p.write_text('{"venue": "toy", "recv_ts": 99999999999999999999, "frame": {"size": 5}}\n'
                 '{"venue": "toy", "recv_ts": -1, "frame": {"size": 5}}\n'
                 '{"venue": "toy", "recv_ts": 2, "frame": {"size": 5}}\n')
    rejects = RejectLog()
    events = list(iter_raw_recording(p, HalfBadNormalizer(), rejects))
    assert [e.order_id for e in events] == ["o1", "o2"]  # the third line only
    assert rejects.count == 2 and all("'recv_ts'" in x for x in rejects.examples)
