"""A scan changes the cyclic GC's settings for the replay and puts them back afterwards,
also when the scan fails mid-feed (a daemon or notebook that scans keeps its own GC)."""

from __future__ import annotations

import gc
import gzip
import json
from pathlib import Path

import pytest

from horizon_flow_core import runner
from horizon_flow_core.cli.app import main
from horizon_flow_core.engine import FlowEngine
from horizon_flow_core.testing import FeedBuilder


def feed_lines(n: int = 400) -> bytes:
    fb = FeedBuilder(step_ms=1)
    for _ in range(n):
        oid = fb.place("a", "buy", 0.5, 10)
        fb.cancel("a", oid)
    return "".join(json.dumps(e.to_dict()) + "\n" for e in fb.events).encode()


def scan(feed: Path, name: str) -> int:
    return main(["--no-plugins", "scan", "--feed-log", str(feed), "--db", f"memory://{name}",
                 "--audit-db", f"memory://{name}a", "--json"])


@pytest.fixture
def gc_state() -> tuple[tuple[int, int, int], int]:
    before = (gc.get_threshold(), gc.get_freeze_count())
    assert before[0] != runner._REPLAY_GC_THRESHOLD  # else the test could not tell
    return before  # type: ignore[return-value]


def test_gc_settings_restored_after_a_scan(tmp_path: Path, gc_state: object,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int, int]] = []
    ingest_many = FlowEngine.ingest_many

    def spy(self: FlowEngine, events: object) -> int:
        seen.append(gc.get_threshold())  # the replay runs with its own settings
        return ingest_many(self, events)  # type: ignore[arg-type]

    monkeypatch.setattr(FlowEngine, "ingest_many", spy)
    feed = tmp_path / "day.jsonl"
    feed.write_bytes(feed_lines())
    assert scan(feed, "gc-ok") == 0
    assert seen == [runner._REPLAY_GC_THRESHOLD]
    assert (gc.get_threshold(), gc.get_freeze_count()) == gc_state


def test_gc_settings_restored_when_the_feed_breaks_mid_scan(
        tmp_path: Path, gc_state: object, capsys: pytest.CaptureFixture[str]) -> None:
    data = gzip.compress(feed_lines())
    feed = tmp_path / "day.jsonl.gz"
    feed.write_bytes(data[: len(data) // 2])  # a truncated gzip: reading fails part-way
    assert scan(feed, "gc-broken") != 0
    assert "read failed after line" in capsys.readouterr().err
    assert (gc.get_threshold(), gc.get_freeze_count()) == gc_state
