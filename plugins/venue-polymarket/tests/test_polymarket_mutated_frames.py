"""Every recorded frame, mutated field by field (deleted, retyped, 1e309, -5, 2**64,
a 1,000-deep list...), gives a FrameError naming the field or valid events.

The core's robustness check (horizon_flow_core.testing.check_venue_robustness), on
the recorded frames: those in tests/data and those that stay in ../shared/fixtures
(the test skips, saying so, when neither is there).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer as Normalizer

from horizon_flow_core.testing import check_venue_robustness, load_frames

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "polymarket"
#: recorded files that are not frames (an ABI, a decoder's test vectors)
NOT_FRAMES = {"ctf_exchange_v1_events_abi.json", "nautilus_chain_order_filled_taker_fees.json"}


def recorded_frames() -> list[object]:
    by_name = {p.name: p for d in (SHARED, DATA) if d.is_dir() for p in sorted(d.iterdir())
               if p.suffix in (".json", ".jsonl") and p.name not in NOT_FRAMES}
    files = [by_name[n] for n in sorted(by_name)]  # a copy in tests/data counts once
    if not files:
        pytest.skip(f"no recorded frames: neither {DATA} nor {SHARED} holds any")
    return load_frames(files)


def test_mutated_recorded_frames_are_rejected_by_field_or_give_valid_events() -> None:
    failures = check_venue_robustness(Normalizer, recorded_frames(), max_paths=20)
    assert not failures, "\n".join(str(f) for f in failures[:20])
