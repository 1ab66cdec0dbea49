"""Recorded frames mutated field by field: a FrameError naming the field or valid events.

The core kit's robustness check (horizon_flow_core.testing.check_venue_robustness) on
the frames in tests/data and in ../shared/fixtures/kalshi (skipped, saying so, when
neither holds any).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from horizon_flow_venue_kalshi import KalshiNormalizer as Normalizer

from horizon_flow_core.testing import assert_venue_robust, recorded_frames, shared_fixtures_dir

HERE = Path(__file__).resolve()
SHARED = shared_fixtures_dir("kalshi", HERE)


def test_mutated_recorded_frames_are_rejected_by_field_or_give_valid_events() -> None:
    frames = recorded_frames(HERE.parent / "data", SHARED)
    if not frames:
        pytest.skip(f"no recorded frames in {HERE.parent / 'data'} or {SHARED}")
    assert_venue_robust(Normalizer, frames)
