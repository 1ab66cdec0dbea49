"""Fixture locations for the Polymarket plugin tests.

LGPL samples stay in the shared fixture folder (``/work/shared/fixtures`` beside
the repository, or ``$HORIZON_FLOW_FIXTURES``); tests that need them skip when
it is absent. MIT/public-chain samples are copied into ``tests/data``.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from horizon_flow_core.testing import shared_fixtures_dir

HERE = Path(__file__).resolve().parent


def _shared_dir() -> Path | None:
    return shared_fixtures_dir("polymarket", __file__)


@pytest.fixture(scope="session")
def pm_data() -> Path:
    return HERE / "data"


@pytest.fixture(scope="session")
def pm_shared() -> Path:
    p = _shared_dir()
    if p is None:
        pytest.skip("shared Polymarket fixtures (LGPL, not redistributed) are absent")
    return p


@pytest.fixture(scope="session")
def pm_load(pm_shared: Path):
    """Load a shared sample: one JSON document, or a list of JSON Lines."""
    def load(name: str):
        path = pm_shared / name
        if not path.exists():
            pytest.skip(f"shared sample {name} is absent")
        data = path.read_bytes()
        if name.endswith(".jsonl"):
            return [orjson.loads(line) for line in data.splitlines() if line.strip()]
        return orjson.loads(data)
    return load


@pytest.fixture(scope="session")
def pm_chain_logs(pm_data: Path) -> list[dict]:
    lines = (pm_data / "onchain_orderfilled_raw_logs_v2_v1.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines if line.strip()]
