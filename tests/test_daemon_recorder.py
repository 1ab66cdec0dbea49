"""Daily feed logs of the daemon: UTC-midnight rotation, SIGHUP reopen, write failures."""

from __future__ import annotations

import calendar
from pathlib import Path
from typing import Any

from horizon_flow_core import FrameError, MarketEvent, make_event
from horizon_flow_core.daemon.recorder import DailyFeedRecorder, day_file, utc_day
from horizon_flow_core.feeds import RejectLog, iter_raw_recording
from horizon_flow_core.jsonio import loads

NS = 1_000_000_000
# 2026-03-01 23:59:59.999999999 UTC, one nanosecond before midnight
MIDNIGHT = calendar.timegm((2026, 3, 2, 0, 0, 0)) * NS
BEFORE = MIDNIGHT - 1


class ToyNormalizer:
    venue = "toy"

    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        if not isinstance(frame, dict) or "p" not in frame:
            raise FrameError(f"unknown frame {frame!r}")
        return [make_event("toy", "X", "trade.tape", int(recv_ts or 0), price=frame["p"],
                           size=1.0, side="buy")]


def lines(path: Path) -> list[dict[str, Any]]:
    return [loads(x) for x in path.read_bytes().splitlines() if x.strip()]


def test_utc_day_names() -> None:
    assert utc_day(BEFORE) == "2026-03-01"
    assert utc_day(MIDNIGHT) == "2026-03-02"
    assert day_file("feeds", "kalshi", MIDNIGHT) == Path("feeds/kalshi/2026-03-02.jsonl")


def test_frames_rotate_at_utc_midnight_by_receive_time(tmp_path: Path) -> None:
    rec = DailyFeedRecorder(tmp_path / "feeds", "toy")
    rec.frame({"p": 1.0}, BEFORE - 5 * NS)
    rec.frame({"p": 2.0}, BEFORE)
    assert rec.path == tmp_path / "feeds/toy/2026-03-01.jsonl"
    rec.frame({"p": 3.0}, MIDNIGHT)
    gap = make_event("toy", "*", "feed.gap", MIDNIGHT + NS)
    rec.event(gap, MIDNIGHT + 2 * NS)
    rec.close()
    day1 = lines(tmp_path / "feeds/toy/2026-03-01.jsonl")
    day2 = lines(tmp_path / "feeds/toy/2026-03-02.jsonl")
    assert [d["frame"]["p"] for d in day1] == [1.0, 2.0]
    assert [d["recv_ts"] for d in day1] == [BEFORE - 5 * NS, BEFORE]
    assert day2[0] == {"venue": "toy", "recv_ts": MIDNIGHT, "frame": {"p": 3.0}}
    assert day2[1]["event"]["kind"] == "feed.gap"
    assert rec.rotations == 1 and rec.lines == 4 and rec.errors == 0


def test_each_day_replays_on_its_own(tmp_path: Path) -> None:
    rec = DailyFeedRecorder(tmp_path, "toy")
    rec.frame({"p": 1.0}, BEFORE)
    rec.frame("garbage", BEFORE)  # kept, and rejected when read back
    rec.frame({"p": 2.0}, MIDNIGHT)
    rec.close()
    rejects = RejectLog()
    day1 = list(iter_raw_recording(tmp_path / "toy/2026-03-01.jsonl", ToyNormalizer(), rejects))
    day2 = list(iter_raw_recording(tmp_path / "toy/2026-03-02.jsonl", ToyNormalizer()))
    assert [e.price for e in day1] == [1.0] and rejects.count == 1
    assert [(e.price, e.ts) for e in day2] == [(2.0, MIDNIGHT)]


def test_restart_appends_to_the_days_file(tmp_path: Path) -> None:
    first = DailyFeedRecorder(tmp_path, "toy")
    first.frame({"p": 1.0}, BEFORE - NS)
    first.close()
    second = DailyFeedRecorder(tmp_path, "toy")
    second.frame({"p": 2.0}, BEFORE)
    second.close()
    assert [d["frame"]["p"] for d in lines(tmp_path / "toy/2026-03-01.jsonl")] == [1.0, 2.0]


def test_reopen_after_the_file_was_moved_away(tmp_path: Path) -> None:
    rec = DailyFeedRecorder(tmp_path, "toy")
    rec.frame({"p": 1.0}, BEFORE - NS)
    path = tmp_path / "toy/2026-03-01.jsonl"
    moved = tmp_path / "archived.jsonl"
    path.rename(moved)
    rec.frame({"p": 2.0}, BEFORE - NS)  # still goes to the moved file (open descriptor)
    rec.reopen()
    rec.frame({"p": 3.0}, BEFORE)
    rec.close()
    assert [d["frame"]["p"] for d in lines(moved)] == [1.0, 2.0]
    assert [d["frame"]["p"] for d in lines(path)] == [3.0]


def test_write_failure_is_counted_and_recording_resumes(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "toy").write_text("a file where the venue directory belongs")
    rec = DailyFeedRecorder(feeds, "toy")
    rec.frame({"p": 1.0}, BEFORE)  # cannot create feeds/toy/...: counted, not raised
    assert rec.errors == 1 and rec.lines == 0 and "toy" in (rec.last_error or "")
    (feeds / "toy").unlink()
    rec.frame({"p": 2.0}, BEFORE)
    rec.close()
    assert [d["frame"]["p"] for d in lines(feeds / "toy/2026-03-01.jsonl")] == [2.0]
    assert rec.lines == 1
