"""Recorded venue data that may not be copied into a repository, for tests.

The fixtures' PROVENANCE.md keeps LGPL and unlicensed samples in the shared
folder beside the repository (``../shared/fixtures/<venue>``), or wherever
``$HORIZON_FLOW_FIXTURES`` points; tests that need them skip, saying why, when
it is absent (a fresh clone in /tmp, a firm's CI).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the shared fixture folder (holding one folder a venue).
FIXTURES_ENV = "HORIZON_FLOW_FIXTURES"


def shared_fixtures_dir(venue: str, start: str | Path) -> Path | None:
    """``$HORIZON_FLOW_FIXTURES/<venue>``, else the first ``shared/fixtures/<venue>``
    in a folder above ``start`` (a test's ``__file__``); None when there is none."""
    env = os.environ.get(FIXTURES_ENV)
    if env:
        p = Path(env) / venue
        return p if p.is_dir() else None
    for parent in Path(start).resolve().parents:
        p = parent / "shared" / "fixtures" / venue
        if p.is_dir():
            return p
    return None


def shared_fixture(venue: str, name: str, start: str | Path) -> Path:
    """The shared fixture file ``name`` of ``venue``; skips the calling test, saying
    why, when it is absent."""
    folder = shared_fixtures_dir(venue, start)
    if folder is None or not (folder / name).exists():
        import pytest  # a test helper: only tests call it

        pytest.skip(f"{venue}/{name} is LGPL or unlicensed and stays in the shared fixtures "
                    f"folder (${FIXTURES_ENV} or ../shared/fixtures), absent here")
    return folder / name
