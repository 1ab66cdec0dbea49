"""Recording a live source and scanning the recording gives the same events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from horizon_flow_core import FrameError, MarketEvent, VenueSpec, hookimpl, make_event
from horizon_flow_core.cli.record_cmd import record_venue
from horizon_flow_core.feeds import RawRecorder, RejectLog, iter_raw_recording
from horizon_flow_core.testing import ReplayingSource


class ToyNormalizer:
    """Frames: {"p": price, "q": size, "t": ms} -> a trade.tape; 'PONG' -> nothing."""

    venue = "toy"

    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        if frame == "PONG":
            return []
        if not isinstance(frame, dict) or "p" not in frame:
            raise FrameError(f"unknown frame shape {str(frame)[:30]!r}")
        return [make_event("toy", "X", "trade.tape", frame["t"] * 1_000_000,
                           price=frame["p"], size=frame["q"], side="buy")]


FRAMES = [({"p": 1.0, "q": 2.0, "t": 1}, 10), ("PONG", 11), ({"bad": 1}, 12),
          ({"p": 1.5, "q": 1.0, "t": 3}, 13)]


def test_recording_scans_back_to_the_live_events(tmp_path: Path) -> None:
    live: list[MarketEvent] = []

    class Source(ReplayingSource):
        async def run(self, ctx: Any) -> None:
            orig = ctx.emit
            ctx.emit = lambda evs: (live.extend(evs), orig(evs))
            await super().run(ctx)
            ctx.record_event(make_event("toy", "X", "feed.gap", 20))
            live.append(make_event("toy", "X", "feed.gap", 20))

    rec = RawRecorder(tmp_path / "rec.jsonl", "toy")
    counts = asyncio.run(record_venue(Source(ToyNormalizer(), FRAMES), rec, 5.0, None))
    rec.close()
    assert counts == {"frames": 4, "events": 2, "rejects": 1}
    rejects = RejectLog()
    scanned = list(iter_raw_recording(tmp_path / "rec.jsonl", ToyNormalizer(), rejects))
    assert scanned == live
    assert rejects.count == 1 and "unknown frame shape" in rejects.examples[0]


def test_bare_frames_and_wrong_venue_lines(tmp_path: Path) -> None:
    p = tmp_path / "bare.jsonl"
    p.write_text('{"p": 2.0, "q": 1.0, "t": 5}\nPONG\n'
                 '{"venue": "other", "recv_ts": 1, "frame": {"p": 1, "q": 1, "t": 1}}\n')
    rejects = RejectLog()
    events = list(iter_raw_recording(p, ToyNormalizer(), rejects))
    assert [e.price for e in events] == [2.0]
    assert rejects.count == 1 and "recorded from venue 'other'" in rejects.examples[0]


class ToyPlugin:
    @hookimpl
    def flow_venues(self) -> list[VenueSpec]:
        return [VenueSpec(name="toy", make_normalizer=lambda cfg: ToyNormalizer())]


def test_scan_venue_recording_through_runner(tmp_path: Path) -> None:
    from horizon_flow_core.runner import run_scan
    from horizon_flow_core.testing import isolated_plugin_manager

    p = tmp_path / "rec.jsonl"
    rec = RawRecorder(p, "toy")
    for frame, ts in FRAMES:
        rec.frame(frame, ts)
    rec.close()
    summary = run_scan(p, pm=isolated_plugin_manager(ToyPlugin()), db="memory://toy",
                       audit_db="memory://toy-audit", venue="toy")
    assert summary.events == 2 and summary.rejects == 1


class PartialNormalizer(ToyNormalizer):
    """Frames are lists of trades; a bad item is dropped and reported, the rest kept."""

    def __init__(self) -> None:
        self._rejects: list[tuple[str, Any]] = []

    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        out = []
        for item in frame:
            if "p" in item:
                out.extend(super().normalize(item, recv_ts))
            else:
                self._rejects.append(("trade without a price", item))
        return out

    def take_rejects(self) -> list[tuple[str, Any]]:
        out, self._rejects = self._rejects, []
        return out


def test_partial_rejects_of_a_frame_are_kept(tmp_path: Path) -> None:
    p = tmp_path / "rec.jsonl"
    p.write_text('[{"p": 1.0, "q": 1.0, "t": 1}, {"q": 2}, {"p": 2.0, "q": 1.0, "t": 2}]\n')
    rejects = RejectLog(tmp_path / "rej.jsonl")
    events = list(iter_raw_recording(p, PartialNormalizer(), rejects))
    rejects.close()
    assert [e.price for e in events] == [1.0, 2.0]
    assert rejects.count == 1
    kept = (tmp_path / "rej.jsonl").read_text()
    assert '"raw":{"q":2}' in kept and '"line":1' in kept and "trade without a price" in kept
