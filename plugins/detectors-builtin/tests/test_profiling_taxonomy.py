"""Scripted actors through the Kirilenko profiler land in their taxonomy class."""

from __future__ import annotations

import math
import random

import pytest
from horizon_flow_detectors_builtin.profiling import (
    KirilenkoProfiler,
    TaxonomyConfig,
    classify,
    top_class,
)
from horizon_flow_detectors_builtin.profiling.taxonomy import normalize

from horizon_flow_core.events import MarketEvent, make_event
from horizon_flow_core.profiles import TAXONOMY_CLASSES, ActorProfile

T0 = 1_732_147_200_000_000_000
S = 1_000_000_000


class Script:
    """Builds one actor's order events with increasing times and order ids."""

    def __init__(self, actor: str, market: str = "M1", venue: str = "polymarket") -> None:
        self.actor, self.market, self.venue = actor, market, venue
        self.events: list[MarketEvent] = []
        self.n = 0

    def _ev(self, kind: str, ts: int, **kw: object) -> None:
        self.n += 1
        self.events.append(make_event(self.venue, kw.pop("market", self.market), kind, ts,
                                      actor_id=self.actor, **kw))

    def place(self, ts: int, side: str, price: float, size: float) -> str:
        oid = f"{self.actor}-{self.n}"
        self._ev("order.placed", ts, order_id=oid, side=side, price=price, size=size)
        return oid

    def cancel(self, ts: int, oid: str, side: str, price: float, size: float) -> None:
        self._ev("order.canceled", ts, order_id=oid, side=side, price=price, size=size)

    def fill(self, ts: int, side: str, price: float, size: float, *, aggressor: bool = False,
             counterparty: str = "cp", **kw: object) -> None:
        self._ev("order.filled", ts, order_id=f"{self.actor}-f{self.n}", side=side, price=price,
                 size=size, aggressor=aggressor, counterparty_id=counterparty, **kw)


def market_maker(actor: str = "mm", fills: int = 80, gap_s: float = 60.0) -> list[MarketEvent]:
    """Quotes both sides, cancels and requotes, fills alternately: inventory mean-reverts."""
    s = Script(actor)
    ts = T0
    for i in range(fills):
        ts += int(gap_s * S)
        bid = s.place(ts, "buy", 0.49, 500.0)
        ask = s.place(ts + 1, "sell", 0.51, 500.0)
        # Inventory swings within +-100 around zero: buy, sell, sell, buy.
        side = "buy" if i % 4 in (0, 3) else "sell"
        s.fill(ts + 2 * S, side, 0.49 if side == "buy" else 0.51, 100.0)
        s.cancel(ts + 3 * S, bid, "buy", 0.49, 500.0 if side == "sell" else 400.0)
        s.cancel(ts + 3 * S + 1, ask, "sell", 0.51, 500.0 if side == "buy" else 400.0)
    return s.events


def accumulator(actor: str = "acc", side: str = "buy", fills: int = 60) -> list[MarketEvent]:
    """Works a large position one way: net position equals its volume."""
    s = Script(actor, market="M2")
    ts = T0
    for _ in range(fills):
        ts += 90 * S
        s.place(ts, side, 0.62, 200.0)
        s.fill(ts + S, side, 0.62, 200.0, aggressor=True)
    return s.events


def small_trader(actor: str = "small") -> list[MarketEvent]:
    """A few dollars now and then; cancels some orders."""
    s = Script(actor, market="M3")
    ts = T0
    for i in range(14):
        ts += 600 * S
        side = "buy" if i % 3 else "sell"
        oid = s.place(ts, side, 0.3, 5.0)
        if i % 2:
            s.fill(ts + S, side, 0.3, 5.0, aggressor=True)
        else:
            s.cancel(ts + S, oid, side, 0.3, 5.0)
        s.place(ts + 2 * S, "buy", 0.25, 4.0)
    return s.events


def swing_trader(actor: str = "opp") -> list[MarketEvent]:
    """Buys 3000 then sells it all back: flat at the end, large intraday swing."""
    s = Script(actor, market="M4")
    ts = T0
    for i in range(60):
        ts += 120 * S
        side = "buy" if i < 30 else "sell"
        s.place(ts, side, 0.4, 100.0)
        s.fill(ts + S, side, 0.4, 100.0, aggressor=True)
    return s.events


def hft(actor: str = "hft") -> list[MarketEvent]:
    """A market maker trading thousands of times an hour."""
    return market_maker(actor, fills=600, gap_s=2.0)


def run(events: list[MarketEvent], profiler: KirilenkoProfiler | None = None) -> ActorProfile:
    prof = profiler or KirilenkoProfiler()
    events = sorted(events, key=lambda e: e.ts)
    for seq, ev in enumerate(events, 1):
        prof.observe(ev, seq)
    final = list(prof.finish(len(events)))
    assert final, "the scripted actor changed since its last flush"
    return final[-1]


@pytest.mark.parametrize(("script", "expected"), [
    (market_maker, "market_maker"),
    (hft, "high_frequency"),
    (accumulator, "fundamental_buyer"),
    (lambda: accumulator(side="sell"), "fundamental_seller"),
    (small_trader, "small"),
    (swing_trader, "opportunistic"),
])
def test_scripted_actor_gets_its_class(script, expected):
    profile = run(script())
    assert profile.top_class == expected, profile.taxonomy
    assert profile.taxonomy[expected] > 0.5
    assert math.isclose(math.fsum(profile.taxonomy.values()), 1.0, abs_tol=1e-12)
    assert list(profile.taxonomy) == list(TAXONOMY_CLASSES)


def test_market_maker_features_show_mean_reverting_inventory():
    f = run(market_maker()).features
    assert f["volume"] == pytest.approx(8000.0)
    assert f["end_inventory_share"] < 0.05
    assert f["inventory_rms_share"] < 0.05
    assert f["inventory_crossing_rate"] > 0.2
    assert f["cancel_ratio"] == pytest.approx(1.0)
    assert f["taxonomy_rules"]["intermediary"] > 0.9


def test_accumulator_net_position_is_its_volume():
    f = run(accumulator()).features
    assert f["net_position"] == pytest.approx(12_000.0)
    assert f["net_position_share"] == pytest.approx(1.0)
    assert f["inventory_by_market"] == {"M2": pytest.approx(12_000.0)}
    assert f["aggressor_share"] == pytest.approx(1.0)


def test_classes_follow_the_configured_thresholds():
    """The same trader is small under a high small-volume threshold, not under a low one."""
    events = accumulator(fills=40)  # 40 x 200 x 0.62 = $4960 in one day
    strict = KirilenkoProfiler(taxonomy=TaxonomyConfig(small_volume_notional=50_000.0))
    assert run(events, strict).top_class == "small"
    lax = KirilenkoProfiler(taxonomy=TaxonomyConfig(small_volume_notional=100.0))
    assert run(events, lax).top_class == "fundamental_buyer"


def test_directional_share_threshold_separates_buyer_from_opportunistic():
    # Net 10% of volume: under the paper's 15%, so not a fundamental buyer.
    s = Script("mixed", market="M5")
    ts = T0
    for i in range(100):
        ts += 60 * S
        side = "buy" if i % 20 < 11 else "sell"  # 55 buys, 45 sells -> net 10% of volume
        s.fill(ts, side, 0.5, 100.0)
    assert run(s.events).features["net_position_share"] == pytest.approx(0.10)
    assert run(s.events).top_class != "fundamental_buyer"
    lower = KirilenkoProfiler(taxonomy=TaxonomyConfig(directional_share=0.05))
    assert run(s.events, lower).top_class == "fundamental_buyer"


def test_probabilities_sum_to_one_for_arbitrary_features():
    rng = random.Random(7)
    for _ in range(500):
        features = {
            "end_inventory_share": rng.random(),
            "inventory_rms_share": rng.random() * 2,
            "net_position_share": rng.uniform(-1, 1),
            "notional_per_day": 10 ** rng.uniform(-3, 8),
            "trades_per_hour": 10 ** rng.uniform(-2, 5),
        }
        probs = classify(features)
        assert list(probs) == list(TAXONOMY_CLASSES)
        assert abs(math.fsum(probs.values()) - 1.0) <= 1e-12
        assert abs(sum(probs.values()) - 1.0) <= 1e-12
        assert all(0.0 <= p <= 1.0 and math.isfinite(p) for p in probs.values())
        assert classify(features) == probs  # deterministic


def test_classify_tolerates_missing_and_non_numeric_features():
    probs = classify({"trades_per_hour": "many", "notional_per_day": float("nan")})
    assert abs(math.fsum(probs.values()) - 1.0) <= 1e-12
    assert top_class(probs) == "small"  # no volume is small


def test_normalize_rounds_and_fixes_the_sum():
    probs = normalize({c: 1.0 / 3.0 for c in TAXONOMY_CLASSES})
    assert abs(math.fsum(probs.values()) - 1.0) <= 1e-12
    assert all(round(p, 12) == p for p in probs.values())
    assert normalize({}) == normalize(dict.fromkeys(TAXONOMY_CLASSES, 0.0))


@pytest.mark.parametrize("field,value", [
    ("directional_share", 1.5), ("directional_share", 0.0), ("small_volume_notional", -1.0),
    ("hft_min_trades_per_hour", 0.0), ("softness", float("inf")),
])
def test_taxonomy_config_rejects_out_of_range(field, value):
    with pytest.raises(ValueError, match=field):
        TaxonomyConfig(**{field: value})
