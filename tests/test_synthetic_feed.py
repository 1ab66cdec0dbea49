"""write_feed: the pinned JSON Lines feed log, plain or gzip, byte-stable and readable back."""

from __future__ import annotations

import gzip

from horizon_flow_core.events import event_to_dict
from horizon_flow_core.feeds.reader import read_feed_log
from horizon_flow_core.jsonio import loads
from horizon_flow_core.synthetic import generate, write_feed


def test_round_trip_through_the_feed_reader(tmp_path):
    sc = generate(seed=11, events=4000, episodes=1)
    path = tmp_path / "feed.jsonl"
    assert write_feed(path, sc.events) == len(sc.events)
    lines = path.read_bytes().splitlines()
    assert len(lines) == len(sc.events)
    assert loads(lines[0]) == event_to_dict(sc.events[0])
    assert list(read_feed_log(path)) == sc.events


def test_gzip_is_byte_identical_across_writes(tmp_path):
    sc = generate(seed=12, events=3000, episodes=False)
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b" / "a.jsonl.gz"
    write_feed(a, sc.events)
    write_feed(b, iter(sc.events))  # any iterable; parent directories are made
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()).count(b"\n") == len(sc.events)
    assert list(read_feed_log(a)) == sc.events


def test_empty_feed(tmp_path):
    path = tmp_path / "empty.jsonl"
    assert write_feed(path, []) == 0
    assert path.read_bytes() == b""
