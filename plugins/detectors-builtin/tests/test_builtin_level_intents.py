"""LevelIntentTracker: size added at a level and withdrawn, as the anonymous paths see it."""

from __future__ import annotations

from horizon_flow_detectors_builtin.level_intents import LevelIntentTracker
from horizon_flow_detectors_builtin.scripting import Script


def withdrawals(s: Script) -> list:
    tracker = LevelIntentTracker(min_added=100.0, horizon_ns=10**12, depth_levels=5)
    out = []
    for ev in s.events:
        out += tracker.on_event(ev)
    return out


def test_nothing_traded_elsewhere_is_zero_not_float_residue():
    # 0.1 printed before the addition and 0.2 at its level: 0.1 + 0.2 - 0.1 - 0.2 is
    # 5.6e-17 in floats, which the anonymous paths once read as a print elsewhere
    s = Script(venue="kalshi")
    s.at(0).snapshot([(0.49, 50.0)], [(0.51, 50.0)])
    s.at(10).tape(0.51, 0.1, "buy")
    s.at(20).delta("buy", 0.49, 1050.0)
    s.at(30).tape(0.49, 0.2, "sell").delta("buy", 0.49, 1049.8)
    s.at(40).delta("buy", 0.49, 50.0)
    (w,) = withdrawals(s)
    assert w.tape_elsewhere == 0.0 and w.traded_at_level == 0.2
    assert w.canceled > 999.0


def test_size_added_per_side_is_a_running_total():
    s = Script(venue="kalshi")
    s.at(0).snapshot([(0.49, 50.0)], [(0.51, 50.0)])
    s.at(10).delta("buy", 0.49, 80.0).delta("buy", 0.48, 20.0).delta("sell", 0.51, 40.0)
    s.at(20).delta("buy", 0.49, 60.0)  # shrinking adds nothing
    tracker = LevelIntentTracker(min_added=100.0, horizon_ns=10**12, depth_levels=5)
    for ev in s.events:
        tracker.on_event(ev)
    assert tracker.grown("M", "buy") == 50.0 and tracker.grown("M", "sell") == 0.0
    assert tracker.grown("elsewhere", "buy") == 0.0


def test_large_addition_on_a_followed_level_is_followed_on_its_own():
    # a quote of 150 joins 0.49 (followed), then a bait of 4,000 joins it too and is
    # withdrawn while the quote stays: the bait's withdrawal is seen at once, not
    # when the quote leaves as well (merged, it once was, with the quote's time)
    s = Script(venue="kalshi")
    s.at(0).snapshot([(0.49, 50.0)], [(0.51, 50.0)])
    s.at(10).delta("buy", 0.49, 200.0)
    s.at(20).tape(0.55, 30.0, "buy")
    s.at(500).delta("buy", 0.49, 4200.0)
    s.at(700).tape(0.51, 40.0, "buy")
    s.at(900).delta("buy", 0.49, 200.0)
    (w,) = withdrawals(s)
    assert w.added == 4000.0 and w.canceled == 4000.0
    assert w.ts - w.added_ts == 400_000_000 and w.tape_elsewhere == 40.0


def test_tape_toward_counts_aggressors_on_the_withdrawn_side_only():
    s = Script(venue="kalshi")
    s.at(0).snapshot([(0.49, 50.0)], [(0.51, 50.0)])
    s.at(10).delta("buy", 0.49, 1050.0)
    s.at(20).tape(0.51, 30.0, "buy")  # lifts the offer: what a bid spoof is there for
    s.at(30).tape(0.48, 70.0, "sell")  # hits a bid elsewhere: not toward
    s.at(40).delta("buy", 0.49, 50.0)
    (w,) = withdrawals(s)
    assert w.tape_elsewhere == 100.0 and w.tape_toward == 30.0
    unsided = Script(venue="kalshi")
    unsided.at(0).snapshot([(0.49, 50.0)], [(0.51, 50.0)])
    unsided.at(10).delta("buy", 0.49, 1050.0)
    unsided.at(20).tape(0.51, 30.0)  # a print naming no side: toward is unknown
    unsided.at(40).delta("buy", 0.49, 50.0)
    (w,) = withdrawals(unsided)
    assert w.tape_elsewhere == 30.0 and w.tape_toward is None
