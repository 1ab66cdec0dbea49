"""The per-shape compiled event builders agree with the generic validator, error for error."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from horizon_flow_core import events as E
from horizon_flow_core.errors import FeedError
from horizon_flow_core.event_shapes import MAX_SHAPES

BASE = {"venue": "v", "market_id": "m", "kind": "order.placed", "ts": 5, "seq": 1,
        "actor_id": "a", "order_id": "o", "side": "buy", "price": 0.5, "size": 10.0}

# values per field: good ones and bad ones, mixed, so every combination is tried
VARIANTS: dict[str, list[Any]] = {
    "kind": ["order.placed", "book.delta", "trade.tape", "quote.update", "book.snapshot",
             "order.filled", "nope", 3],
    "side": ["buy", "SELL", "up", None, 1],
    "price": [0.5, 1, None, "0.5", True],
    "size": [10.0, None, -1, [1]],
    "actor_id": ["a", 7, None, 1.5],
    "seq": [1, None, "1"],
}


def _outcome(build: Any, d: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", build(dict(d))
    except FeedError as exc:
        return "error", (exc.field, exc.reason)


def _generic(d: dict[str, Any]) -> Any:
    try:
        return E._event_from_dict(d)
    except TypeError:
        raise E._validate_slow(d) from None


@pytest.mark.parametrize("extra_keys", [{}, {"zzz": 1, "aaa": [2]}, {"extra": {"k": 1}, "k": 9},
                                        {"bids": [[0.4, 1]], "asks": [[0.6, 2]]},
                                        {"bid": 0.4, "ask": None, "aggressor": "yes"},
                                        {"extra": [1]}])
def test_compiled_builders_match_the_generic_path(extra_keys: dict[str, Any]) -> None:
    names = list(VARIANTS)
    checked = 0
    for combo in itertools.product(*(VARIANTS[n] for n in names)):
        d = dict(BASE, **dict(zip(names, combo, strict=True)), **extra_keys)
        assert _outcome(E.event_from_dict, d) == _outcome(_generic, d), d
        checked += 1
    assert checked == 8 * 5 * 5 * 4 * 4 * 3


def test_a_shape_without_a_required_key_names_it() -> None:
    d = {k: v for k, v in BASE.items() if k != "ts"}
    with pytest.raises(FeedError) as info:
        E.event_from_dict(d)
    assert info.value.field == "ts"


def test_the_shape_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(E, "_BUILDERS", {})
    for i in range(MAX_SHAPES + 50):
        ev = E.event_from_dict(dict(BASE, **{f"key{i}": i}))
        assert ev.extra == {f"key{i}": i}
    assert len(E._BUILDERS) == MAX_SHAPES


def test_every_optional_field_has_a_place_in_the_check_order() -> None:
    assert sorted(E._CHECK_ORDER) == sorted(E._OPTIONAL_FIELDS)
    assert len(E._CHECK_ORDER) == len(set(E._CHECK_ORDER))
