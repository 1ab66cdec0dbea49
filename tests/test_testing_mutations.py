"""The venue robustness check: frames mutated field by field, failures named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from horizon_flow_core import MarketEvent, make_event
from horizon_flow_core.errors import FrameError
from horizon_flow_core.testing import (
    assert_venue_robust,
    check_venue_robustness,
    load_frames,
    recorded_frames,
)
from horizon_flow_core.testing.mutations import POISONS, mutations

TS = 1_732_147_200_000_000_000
FRAME = {"type": "trade", "msg": {"price": "0.5", "size": "10", "levels": [["0.4", "3"]]}}


def test_every_value_is_deleted_then_poisoned_with_a_readable_path() -> None:
    out = list(mutations(FRAME))
    paths = sorted({p for p, _, _ in out})
    assert paths == ["msg", "msg.levels", "msg.levels[0]", "msg.levels[0][0]",
                     "msg.levels[0][1]", "msg.price", "msg.size", "type"]
    assert len(out) == len(paths) * (1 + len(POISONS))
    deleted = next(m for p, label, m in out if p == "msg.size" and label == "deleted")
    assert "size" not in deleted["msg"] and FRAME["msg"]["size"] == "10"  # a copy
    assert len({p for p, _, _ in mutations(FRAME, max_paths=2)}) == 2


class Strict:
    """Checks everything: a FrameError for anything but the shape it knows."""

    venue = "toy"

    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        msg = frame.get("msg") if isinstance(frame, dict) else None
        if not isinstance(msg, dict) or not isinstance(msg.get("size"), str):
            raise FrameError("bad frame", field="msg.size")
        try:
            size = float(msg["size"])
        except ValueError:
            raise FrameError("not a number", field="msg.size") from None
        if not 0 <= size < 1e12:
            raise FrameError("out of range", field="msg.size")
        return [make_event("toy", "M", "trade.tape", TS, price=0.5, size=size)]


class Sloppy(Strict):
    """Trusts the frame: float() of anything, negative sizes let through."""

    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        size = float(frame["msg"]["size"])  # KeyError, TypeError, ValueError...
        ev = make_event("toy", "M", "trade.tape", TS, price=0.5, size=1.0)
        object.__setattr__(ev, "size", size)  # as a plugin building events by hand might
        return [ev]


def test_a_strict_normalizer_passes() -> None:
    assert check_venue_robustness(Strict, [FRAME]) == []


def test_a_sloppy_normalizer_fails_with_path_poison_and_problem() -> None:
    failures = check_venue_robustness(Sloppy, [FRAME])
    text = [str(f) for f in failures]
    assert "frame 0, msg.size = deleted: KeyError: 'size'" in text
    assert any(t.startswith("frame 0, msg.size = empty list: TypeError") for t in text)
    assert any(t.startswith("frame 0, msg.size = '-5': emitted an invalid event") and
               "negative" in t for t in text)
    assert any(t.startswith("frame 0, msg.size = '1e309': emitted an invalid event") and
               "finite" in t for t in text)


def test_frames_load_from_json_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"x": 1}')
    (tmp_path / "b.jsonl").write_text('{"y": 1}\n\n{"y": 2}\n')
    assert load_frames([tmp_path / "a.json", tmp_path / "b.jsonl"]) == [
        {"x": 1}, {"y": 1}, {"y": 2}]


def test_recorded_frames_take_each_file_name_once(tmp_path: Path) -> None:
    data, shared = tmp_path / "data", tmp_path / "shared"
    data.mkdir()
    shared.mkdir()
    (data / "a.json").write_text('{"from": "data"}')
    (shared / "a.json").write_text('{"from": "shared"}')
    (shared / "b.jsonl").write_text('{"b": 1}\n')
    (shared / "abi.json").write_text('{"not": "a frame"}')
    (shared / "notes.md").write_text("# not json")
    frames = recorded_frames(data, shared, tmp_path / "absent", exclude=["abi.json"])
    assert frames == [{"from": "data"}, {"b": 1}]
    assert recorded_frames(tmp_path / "absent") == []


def test_assert_venue_robust_lists_the_failures() -> None:
    assert_venue_robust(Strict, [FRAME])
    try:
        assert_venue_robust(Sloppy, [FRAME])
    except AssertionError as exc:
        assert "mutated frame(s) not handled by contract" in str(exc)
        assert "msg.size = deleted: KeyError" in str(exc)
    else:
        raise AssertionError("a sloppy normalizer passed")
