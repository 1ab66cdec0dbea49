"""Momentum ignition: scripted ignitions that must fire, near-misses that must not."""

from __future__ import annotations

import pytest
from horizon_flow_detectors_builtin.detectors.momentum_ignition import (
    MomentumIgnitionConfig,
    MomentumIgnitionDetector,
)
from horizon_flow_detectors_builtin.harness import drive
from horizon_flow_detectors_builtin.scripting import Script


def ignition(*, prices=(0.50, 0.51, 0.52, 0.53), size: float = 50.0,
             reverse: float = 150.0, reverse_at_ms: float = 30_000.0,
             reverse_price: float = 0.52, others_during_burst: float = 0.0) -> Script:
    s = Script()
    s.at(0).snapshot([(0.49, 500.0), (0.48, 500.0)], [(0.51, 500.0), (0.52, 500.0)])
    for i in range(10):  # ordinary trading at 0.50
        s.at(i * 1000).execute(taker=f"noise{i % 3}", maker="mm", side="buy", price=0.50,
                               size=10)
    t = 20_000.0
    for i, p in enumerate(prices):
        s.at(t + i * 800).execute(taker="igniter", taker_oid=f"b{i}", maker="mm",
                                  side="buy", price=p, size=size)
        if others_during_burst:
            s.at(t + i * 800 + 100).execute(taker="other", maker="mm", side="buy", price=p,
                                            size=others_during_burst)
    if reverse:
        s.at(reverse_at_ms).execute(taker="follower", maker="igniter", maker_oid="s1",
                                    side="buy", price=reverse_price, size=reverse)
    return s


def test_fires_with_the_numbers_that_made_it():
    (f,) = drive(MomentumIgnitionDetector(), ignition().events)
    assert (f.category, f.actor_id) == ("momentum_ignition", "igniter")
    ev = f.evidence
    assert ev["burst_side"] == "buy" and ev["reversal_side"] == "sell"
    assert ev["burst_trades"] == 4 and ev["burst_volume"] == 200.0
    assert ev["burst_order_ids"] == ["b0", "b1", "b2", "b3"]
    assert ev["price_before"] == 0.5 and ev["price_after_burst"] == 0.53
    assert ev["move_pct"] == pytest.approx(6.0)
    assert ev["move_ticks"] == 3.0 and ev["tick_size_estimate"] == 0.01
    assert ev["actor_share_of_market_volume"] == 1.0
    assert ev["reversal_volume"] == 150.0 and ev["reversal_vwap"] == 0.52
    assert ev["reversal_order_ids"] == ["s1"]
    assert ev["reversal_fraction"] == 0.75
    assert ev["reversal_delay_ms"] == pytest.approx(30_000 - 22_400)
    assert "2016/522" in f.citation


@pytest.mark.parametrize(
    ("kwargs", "threshold", "value"),
    [
        ({"prices": (0.50, 0.50, 0.51, 0.51)}, "min_price_move_ticks", 1.0),
        ({"reverse": 80.0}, "min_reversal_fraction", 0.4),
        ({"size": 24.0}, "min_burst_volume", 96.0),
        ({"others_during_burst": 150.0}, "min_burst_share", 150 / 400),
    ],
)
def test_one_threshold_short_does_not_fire_and_says_which(kwargs, threshold, value):
    det = MomentumIgnitionDetector()
    assert drive(det, ignition(**kwargs).events) == []
    miss = det.near_misses()[0]
    assert miss["threshold"] == threshold
    assert miss["value"] == pytest.approx(value, rel=0.02)
    assert miss["actor_id"] == "igniter"


def test_momentum_buyer_who_holds_does_not_fire():
    det = MomentumIgnitionDetector()
    assert drive(det, ignition(reverse=0.0).events) == []


def test_selling_back_below_where_the_move_began_is_not_trading_into_it():
    assert drive(MomentumIgnitionDetector(), ignition(reverse_price=0.49).events) == []


def test_reversal_after_the_window_does_not_fire():
    assert drive(MomentumIgnitionDetector(), ignition(reverse_at_ms=200_000).events) == []


def test_one_tick_move_is_not_a_push_but_percent_can_be_required_too():
    det = MomentumIgnitionDetector(MomentumIgnitionConfig(min_price_move_pct=10.0))
    assert drive(det, ignition().events) == []
    assert det.near_misses()[0]["threshold"] == "min_price_move_pct"


def test_market_maker_filled_passively_does_not_fire():
    s = Script()
    t = 0.0
    for i in range(40):  # mm is hit on the bid and lifted on the offer, never aggressive
        side = "buy" if i % 4 < 2 else "sell"
        price = 0.50 + 0.005 * (i % 4)
        s.at(t).execute(taker=f"t{i}", maker="mm", side=side, price=price, size=60)
        t += 500
    assert drive(MomentumIgnitionDetector(), s.events) == []


def test_confidence_rises_with_the_move():
    confs = [drive(MomentumIgnitionDetector(), ignition(prices=ps).events)[0].confidence
             for ps in ((0.5, 0.51, 0.51, 0.52), (0.5, 0.52, 0.53, 0.54),
                        (0.5, 0.54, 0.56, 0.58))]
    assert confs == sorted(confs) and confs[0] < confs[-1]


def test_deterministic():
    a = [f.to_dict() for f in drive(MomentumIgnitionDetector(), ignition().events)]
    b = [f.to_dict() for f in drive(MomentumIgnitionDetector(), ignition().events)]
    assert a == b and a


def test_config_validation():
    with pytest.raises(ValueError, match="min_burst_share"):
        MomentumIgnitionConfig(min_burst_share=1.5)
    with pytest.raises(ValueError, match="burst_window_ms"):
        MomentumIgnitionConfig(burst_window_ms=0)


def sweep_then_exit(*, orders: int) -> Script:
    """The same 4 executions up the book (0.50 to 0.53), made by ``orders`` orders;
    sold back into the move 30 s later."""
    s = Script()
    s.at(0).snapshot([(0.49, 500.0)], [(0.50, 50.0), (0.51, 50.0), (0.52, 50.0), (0.53, 50.0)])
    for i in range(10):
        s.at(i * 1000).execute(taker=f"noise{i % 3}", maker="mm", side="buy", price=0.50,
                               size=10)
    for i, p in enumerate((0.50, 0.51, 0.52, 0.53)):
        s.at(20_000 + (i * 800 if orders > 1 else 0)).execute(
            taker="trader", taker_oid=f"b{i % orders}", maker="mm", side="buy", price=p,
            size=50)
    s.at(50_000).execute(taker="follower", maker="trader", maker_oid="s1", side="buy",
                         price=0.52, size=150)
    return s


def test_one_order_sweeping_several_levels_is_one_aggressive_order_not_a_burst():
    assert len(drive(MomentumIgnitionDetector(), sweep_then_exit(orders=4).events)) == 1
    # the same executions by one order: one aggressive order, under min_burst_trades
    assert drive(MomentumIgnitionDetector(), sweep_then_exit(orders=1).events) == []
    loose = MomentumIgnitionDetector(MomentumIgnitionConfig(min_burst_trades=1))
    assert len(drive(loose, sweep_then_exit(orders=1).events)) == 1


def test_the_spread_is_not_a_move():
    # buyers trade at the ask (0.51); a seller then hits the bid (0.48) three
    # times and buys back at 0.50: the bid it sold into is where sellers had
    # traded, not 3 ticks below where "the price" was
    s = Script()
    s.at(0).snapshot([(0.48, 500.0), (0.47, 500.0)], [(0.51, 500.0), (0.52, 500.0)])
    for i in range(6):  # the last print before the retail sells is a buy at the ask
        s.at(i * 1000).execute(taker=f"seller{i % 2}", maker="mm", side="sell", price=0.48,
                               size=20)
        s.at(i * 1000 + 500).execute(taker=f"buyer{i % 2}", maker="mm", side="buy",
                                     price=0.51, size=20)
    for i in range(3):
        s.at(10_000 + i * 500).execute(taker="retail", taker_oid=f"r{i}", maker="mm",
                                       side="sell", price=0.48, size=60)
    s.at(20_000).execute(taker="retail", taker_oid="back", maker="mm", side="buy",
                         price=0.50, size=150)
    det = MomentumIgnitionDetector(MomentumIgnitionConfig(min_burst_volume=50.0))
    assert drive(det, s.events) == []
