"""Recorded frames mutated field by field: a FrameError naming the field or valid events.

The core kit's robustness check (horizon_flow_core.testing.check_venue_robustness) on
the frames in tests/data and in ../shared/fixtures/polymarket (skipped, saying so, when
neither holds any).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer as Normalizer

from horizon_flow_core.testing import assert_venue_robust, recorded_frames, shared_fixtures_dir

HERE = Path(__file__).resolve()
SHARED = shared_fixtures_dir("polymarket", HERE)
#: recorded files that are not frames: an ABI and a decoder's test vectors
NOT_FRAMES = ("ctf_exchange_v1_events_abi.json", "nautilus_chain_order_filled_taker_fees.json")


def test_mutated_recorded_frames_are_rejected_by_field_or_give_valid_events() -> None:
    frames = recorded_frames(HERE.parent / "data", SHARED, exclude=NOT_FRAMES)
    if not frames:
        pytest.skip(f"no recorded frames in {HERE.parent / 'data'} or {SHARED}")
    assert_venue_robust(Normalizer, frames)
