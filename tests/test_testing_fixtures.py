"""The testing kit's shared-fixture finder: env override, folders above, skip when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from horizon_flow_core.testing import shared_fixture, shared_fixtures_dir
from horizon_flow_core.testing.fixtures import FIXTURES_ENV


def test_found_in_a_folder_above_the_test(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(FIXTURES_ENV, raising=False)
    venue = tmp_path / "shared" / "fixtures" / "kalshi"
    venue.mkdir(parents=True)
    (venue / "doc.jsonl").write_text("{}\n")
    test_file = tmp_path / "repo" / "plugins" / "venue-kalshi" / "tests" / "test_x.py"
    assert shared_fixtures_dir("kalshi", test_file) == venue
    assert shared_fixture("kalshi", "doc.jsonl", test_file) == venue / "doc.jsonl"
    assert shared_fixtures_dir("polymarket", test_file) is None


def test_the_environment_variable_wins(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "elsewhere" / "kalshi").mkdir(parents=True)
    (tmp_path / "shared" / "fixtures" / "kalshi").mkdir(parents=True)
    monkeypatch.setenv(FIXTURES_ENV, str(tmp_path / "elsewhere"))
    test_file = tmp_path / "repo" / "t.py"
    assert shared_fixtures_dir("kalshi", test_file) == tmp_path / "elsewhere" / "kalshi"
    monkeypatch.setenv(FIXTURES_ENV, str(tmp_path / "nowhere"))
    assert shared_fixtures_dir("kalshi", test_file) is None


def test_an_absent_fixture_skips_the_test_saying_why(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(FIXTURES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="kalshi/doc.jsonl is LGPL or unlicensed"):
        shared_fixture("kalshi", "doc.jsonl", tmp_path / "t.py")
