"""Exact number and time parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from horizon_flow_venue_kalshi import units

from horizon_flow_core.errors import FrameError


def test_decimal_forms_are_exact() -> None:
    assert units.to_decimal("0.0800", "f") == Decimal("0.08")
    assert units.to_decimal(0.1, "f") == Decimal("0.1")  # shortest repr, not binary noise
    assert units.to_decimal(75, "f") == Decimal(75)
    assert units.cents(77, "f") == Decimal("0.77")
    assert units.dollars("0.0001", "f") == Decimal("0.0001")
    assert units.as_float(units.ONE - units.dollars("0.5400", "f")) == 0.46
    for bad in ("NaN", "Infinity", "", "1e", None, True, [1]):
        with pytest.raises(FrameError):
            units.to_decimal(bad, "f")


@pytest.mark.parametrize(("text", "ns"), [
    ("2022-11-22T20:44:01Z", 1669149841_000_000_000),
    ("2025-08-12T21:00:32.5Z", 1755032432_500_000_000),
    ("2025-08-12T21:00:32.123456Z", 1755032432_123456000),
    ("2025-08-12T23:00:32+02:00", 1755032432_000_000_000),
    ("2025-08-12T16:00:32-0500", 1755032432_000_000_000),
    ("2025-08-12 21:00:32", 1755032432_000_000_000),  # no zone: UTC
])
def test_iso_times(text: str, ns: int) -> None:
    assert units.iso_to_ns(text, "f") == ns


@pytest.mark.parametrize("text", ["2025-13-01T00:00:00Z", "2025-08-12", "yesterday",
                                  "1969-12-31T23:59:59Z", "2025-08-12T25:00:00Z"])
def test_bad_iso_times(text: str) -> None:
    with pytest.raises(FrameError) as info:
        units.iso_to_ns(text, "msg.ts")
    assert info.value.field == "msg.ts"


def test_frame_time_units() -> None:
    assert units.frame_time_ns({"ts": 1669149841}) == 1669149841 * 10**9
    assert units.frame_time_ns({"ts": "1669149841"}) == 1669149841 * 10**9
    assert units.frame_time_ns({"ts": "2022-11-22T20:44:01Z", "ts_ms": 1669149841001}) == \
        1669149841001 * 10**6
    assert units.frame_time_ns({"created_time": "2022-11-22T20:44:01Z"}) == 1669149841 * 10**9
    assert units.frame_time_ns({"other": 1}) is None
    with pytest.raises(FrameError):
        units.frame_time_ns({"ts_ms": -5})
