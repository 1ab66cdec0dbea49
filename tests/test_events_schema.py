"""The pinned MarketEvent JSON form: what is accepted, what is rejected and why."""

from __future__ import annotations

import pytest

from horizon_flow_core import EventKind, FeedError, MarketEventKind, event_from_dict, make_event
from horizon_flow_core.jsonio import loads

PINNED = ('{"venue":"hyperliquid","market_id":"BTC","kind":"order.placed",'
          '"ts":1732147200123456789,"seq":42,"actor_id":"0xab..","order_id":"9912",'
          '"side":"buy","price":0.53,"size":100.0}')


def test_pinned_example_round_trips_exactly() -> None:
    ev = event_from_dict(loads(PINNED))
    assert ev.ts == 1732147200123456789 and ev.seq == 42 and ev.side == "buy"
    assert ev.price == 0.53 and ev.size == 100.0 and ev.order_id == "9912"
    assert ev.to_dict() == loads(PINNED)
    assert event_from_dict(ev.to_dict()) == ev


@pytest.mark.parametrize(("patch", "field", "words"), [
    ({"kind": "order.exploded"}, "kind", "unknown kind"),
    ({"ts": 1.5e18}, "ts", "integer nanoseconds"),
    ({"ts": "1732147200"}, "ts", "integer nanoseconds"),
    ({"venue": ""}, "venue", "non-empty"),
    ({"price": "0.5"}, "price", "expected a number"),
    ({"side": "long"}, "side", "'buy' or 'sell'"),
    ({"aggressor": "yes"}, "aggressor", "true or false"),
    ({"extra": [1]}, "extra", "expected an object"),
])
def test_bad_fields_are_named(patch: dict[str, object], field: str, words: str) -> None:
    d = loads(PINNED) | patch
    with pytest.raises(FeedError) as info:
        event_from_dict(d)
    assert info.value.field == field
    assert words in str(info.value)


def test_missing_required_field_for_kind() -> None:
    d = loads(PINNED)
    del d["price"]
    with pytest.raises(FeedError, match="price"):
        event_from_dict(d)


def test_unknown_keys_are_kept_in_extra_not_lost() -> None:
    ev = event_from_dict(loads(PINNED) | {"venue_note": "x", "extra": {"a": 1}})
    assert ev.extra == {"a": 1, "venue_note": "x"}


def test_book_snapshot_levels_are_validated() -> None:
    ok = make_event("v", "m", "book.snapshot", 1, bids=[[0.5, 10]], asks=[[0.6, 5]])
    assert ok.bids == [(0.5, 10.0)]
    with pytest.raises(FeedError) as info:
        make_event("v", "m", "book.snapshot", 1, bids=[[0.5]], asks=[])
    assert info.value.field == "bids[0]"


def test_earlier_module_spellings_compare_equal() -> None:
    ev = make_event("v", "m", "order.canceled", 1)
    assert ev.event_kind == MarketEventKind.OrderCanceled == EventKind.ORDER_CANCELED
    assert ev.venue_name == "v"


@pytest.mark.parametrize(("patch", "field"), [({"kind": []}, "kind"), ({"side": {"x": 1}}, "side"),
                                              ({"kind": {"a": 1}}, "kind")])
def test_unhashable_values_are_a_named_feed_error_not_a_crash(patch: dict[str, object],
                                                              field: str) -> None:
    with pytest.raises(FeedError) as info:
        event_from_dict(loads(PINNED) | patch)
    assert info.value.field == field
