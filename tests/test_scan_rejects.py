"""Bad feed lines never stop a scan: counted, reported with line and reason, and kept."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from horizon_flow_core.cli.app import main
from horizon_flow_core.testing import FeedBuilder

GOOD = FeedBuilder(step_ms=1)
for _i in range(5):
    GOOD.place("a", "buy", 0.5, 10)
GOOD_LINES = [json.dumps(e.to_dict()) for e in GOOD.events]

BAD = [
    ("{not json", "not JSON"),
    ('{"venue":"v","market_id":"M","kind":"order.teleported","ts":1}', "unknown kind"),
    ('{"venue":"v","market_id":"M","kind":"trade.tape","ts":"yesterday","price":1,"size":1}',
     "integer nanoseconds"),
    ('{"venue":"v","kind":"trade.tape","ts":1,"price":1,"size":1}', "market_id"),
    ('[1,2,3]', "expected a JSON object"),
]


def write_feed(path: Path) -> Path:
    lines = [GOOD_LINES[0], BAD[0][0], GOOD_LINES[1], BAD[1][0], "", GOOD_LINES[2], BAD[2][0],
             GOOD_LINES[3], BAD[3][0], BAD[4][0], GOOD_LINES[4]]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_lines_counted_reported_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    feed = write_feed(tmp_path / "day.jsonl")
    code = main(["--no-plugins", "scan", "--feed-log", str(feed), "--db", "memory://r1",
                 "--audit-db", "memory://r1a", "--json", "--rejects",
                 str(tmp_path / "out" / "day.rejects.jsonl")])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == 5 and summary["rejects"] == 5
    kept = [json.loads(x) for x in (tmp_path / "out" / "day.rejects.jsonl").read_text()
            .splitlines()]
    assert [k["line"] for k in kept] == [2, 4, 7, 9, 10]
    for k, (raw, words) in zip(kept, BAD, strict=True):
        assert k["raw"] == raw
        assert words in k["reason"] or words == k["field"]
    assert summary["reject_examples"][0].startswith(f"{feed}:2: not JSON")


def test_strict_stops_at_first_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    feed = write_feed(tmp_path / "day.jsonl")
    code = main(["--no-plugins", "scan", "--feed-log", str(feed), "--db", "memory://r2",
                 "--audit-db", "", "--strict"])
    assert code == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(f"error: {feed}:2: not JSON")


def test_gzip_feed_and_default_rejects_location(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    plain = write_feed(tmp_path / "day.jsonl")
    gz = tmp_path / "feeds" / "day.jsonl.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    code = main(["--no-plugins", "scan", "--feed-log", str(gz), "--db", "memory://r3",
                 "--audit-db", "memory://r3a", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == 5 and summary["rejects"] == 5
    assert Path(summary["rejects_path"]) == gz.parent / "day.rejects.jsonl"


def test_missing_feed_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--no-plugins", "scan", "--feed-log", str(tmp_path / "nope.jsonl"), "--db",
                 "memory://r4"])
    assert code == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        f"error: {tmp_path / 'nope.jsonl'}: feed log not found"
