"""Calibration and near-miss bookkeeping shared by every built-in detector."""

from __future__ import annotations

import itertools

import pytest
from horizon_flow_detectors_builtin import calibration
from horizon_flow_detectors_builtin.common import NearMisses, Threshold, evaluate


def test_confidence_is_monotonic_in_every_margin():
    grid = [1.0, 1.1, 1.5, 2.0, 3.0, 5.0, 10.0]
    for a, b in itertools.product(grid, grid):
        c = calibration.confidence([a, b])
        assert calibration.confidence([a * 1.5, b]) >= c
        assert calibration.confidence([a, b * 1.5]) >= c
    series = [calibration.confidence([m, 1.0, 1.0]) for m in grid]
    assert series == sorted(series) and len(set(series)) == len(series)


def test_confidence_range_and_anchor_points():
    assert calibration.confidence([1.0, 1.0]) == calibration.BASE
    assert calibration.confidence([1e9]) < calibration.CEILING
    assert calibration.confidence([0.2]) == calibration.BASE  # below a threshold counts as at it
    assert calibration.confidence([2.0, 2.0]) > 0.8


def test_anonymous_findings_are_less_confident_by_a_fixed_factor():
    for m in (1.0, 2.0, 5.0):
        named = calibration.confidence([m])
        anon = calibration.confidence([m], anonymous=True)
        assert anon == pytest.approx(named * calibration.ANONYMOUS_FACTOR, abs=1e-4)


def test_severity_follows_confidence_with_floor_and_cap():
    sevs = [calibration.severity(c) for c in (0.3, 0.6, 0.7, 0.8, 0.95)]
    assert sevs == ["low", "low", "medium", "high", "critical"]
    assert calibration.severity(0.3, floor="medium") == "medium"
    assert calibration.severity(0.95, cap="medium") == "medium"


def test_margins_of_at_most_thresholds():
    assert calibration.margin(500, 2000, at_most=True) == 4.0
    assert calibration.margin(2000, 2000, at_most=True) == 1.0
    assert calibration.margin(0, 2000, at_most=True) == calibration.MAX_MARGIN


def test_verdict_names_the_threshold_furthest_from_passing():
    v = evaluate([Threshold("a", 9, 10), Threshold("b", 1, 10), Threshold("c", 3, 2)])
    assert not v.passed and v.stopper is not None and v.stopper.name == "b"
    assert v.closeness == pytest.approx(0.1) and v.failed == ["a", "b"]
    ok = evaluate([Threshold("a", 20, 10), Threshold("t", 1, 2, at_most=True,
                                                        calibrates=False)])
    assert ok.passed and ok.margins == [2.0]


def test_near_misses_keep_the_closest_bounded_and_sorted():
    nm = NearMisses(capacity=3, floor=0.3)
    for i, value in enumerate([2, 9, 5, 8, 1, 7]):
        nm.offer(evaluate([Threshold("x", value, 10)]), ts=i, market_id="M", actor_id=f"a{i}")
    items = nm.items()
    assert [m["value"] for m in items] == [9, 8, 7]
    assert [m["closeness"] for m in items] == [0.9, 0.8, 0.7]
    assert set(items[0]) >= {"ts", "market_id", "actor_id", "threshold", "value", "required",
                             "closeness"}
    assert all(m["threshold"] == "x" and m["required"] == 10 for m in items)


def test_near_misses_keep_one_entry_per_candidate():
    nm = NearMisses(capacity=5)
    for value in (4, 6, 5):
        nm.offer(evaluate([Threshold("x", value, 10)]), ts=value, market_id="M",
                 actor_id="a", candidate=["a", "b"])
    (only,) = nm.items()
    assert only["value"] == 6 and only["candidate"] == ["a", "b"]
