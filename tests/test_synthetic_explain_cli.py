"""``flow explain``: event kinds, what the detector received, near-misses and hints."""

from __future__ import annotations

import json

import pytest

from horizon_flow_core.cli.app import main
from horizon_flow_core.events import make_event
from horizon_flow_core.synthetic import generate, write_feed

pytest.importorskip("horizon_flow_detectors_builtin")


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    sc = generate(seed=42, events=20_000)
    path = tmp_path_factory.mktemp("explain") / "feed.jsonl"
    write_feed(path, sc.events)
    return path, sc


def run_json(capfd, *args: str) -> dict:
    capfd.readouterr()
    assert main(["explain", *args, "--json"]) == 0
    return json.loads(capfd.readouterr().out)


def test_counts_kinds_and_what_the_detector_received(feed, capfd):
    path, sc = feed
    x = run_json(capfd, "--feed-log", str(path), "--detector", "spoofing")
    assert x["events"] == len(sc.events) and x["rejects"] == 0
    assert sum(x["kinds"].values()) == len(sc.events)
    assert "order.placed" in x["wanted_kinds"] and "quote.update" not in x["wanted_kinds"]
    assert x["received"] == sum(x["kinds"].get(k, 0) for k in x["wanted_kinds"])
    assert x["thresholds"]["min_bait_size"] == 500.0
    spoofs = [e for e in sc.episodes if e.category == "spoofing"]
    assert x["findings"] == len(spoofs)


def test_market_and_actor_filters(feed, capfd):
    path, sc = feed
    ep = next(e for e in sc.episodes if e.category == "layering")
    x = run_json(capfd, "--feed-log", str(path), "--detector", "layering", "--market",
                 ep.market_id, "--actor", ep.actor_ids[0])
    own = [e for e in sc.events if e.market_id == ep.market_id
           and ep.actor_ids[0] in (e.actor_id, e.counterparty_id)]
    assert sum(x["kinds_for_filter"].values()) == len(own)
    assert x["findings_for_filter"] == 1
    assert any("it did fire" in h for h in x["hints"])


def test_near_misses_name_the_threshold_that_stopped_them(feed, capfd):
    path, _ = feed
    x = run_json(capfd, "--feed-log", str(path), "--detector", "spoofing", "--limit", "50")
    near = x["near_misses"]
    assert near, "ordinary market makers' larger quotes come close to the bait size"
    closeness = [n["closeness"] for n in near]
    assert closeness == sorted(closeness, reverse=True)
    for n in near:
        assert n["threshold"] in n["failed"]
        assert n["threshold"] in x["thresholds"]
        assert 0.0 <= n["closeness"] < 1.0


def test_tightened_threshold_turns_findings_into_near_misses(feed, tmp_path, capfd):
    path, sc = feed
    cfg = tmp_path / "strict.toml"
    cfg.write_text("[detectors.spoofing]\nmin_book_imbalance = 0.9\n")
    x = run_json(capfd, "--feed-log", str(path), "--detector", "spoofing", "--config", str(cfg),
                 "--limit", "100")
    assert x["findings"] == 0
    assert x["thresholds"]["min_book_imbalance"] == 0.9
    stopped = [n for n in x["near_misses"] if n["threshold"] == "min_book_imbalance"]
    spoofers = {a for e in sc.episodes if e.category == "spoofing" for a in e.actor_ids}
    assert spoofers <= {n["actor_id"] for n in stopped}
    for n in stopped:
        assert n["required"] == 0.9 and "min_book_imbalance" in n["failed"]
        if n["actor_id"] in spoofers:  # the planted baits: only the tightened threshold failed
            assert n["failed"] == ["min_book_imbalance"]
            assert 0.3 <= n["value"] < 0.9


def test_feed_without_the_kinds_it_needs(tmp_path, capfd):
    path = tmp_path / "quotes.jsonl"
    t0 = 1_736_172_000_000_000_000
    write_feed(path, [make_event("v", "M", "quote.update", t0 + i, bid=0.4, ask=0.6)
                      for i in range(5)])
    with path.open("ab") as fh:
        fh.write(b"{not json\n")
    x = run_json(capfd, "--feed-log", str(path), "--detector", "spoofing")
    assert (x["events"], x["rejects"], x["received"]) == (5, 1, 0)
    assert any("none of the event kinds" in h for h in x["hints"])
    y = run_json(capfd, "--feed-log", str(path), "--detector", "spoofing", "--market", "ZZZ")
    assert y["kinds_for_filter"] == {}


def test_unknown_detector_and_missing_feed_are_one_line_errors(feed, tmp_path, capsys):
    path, _ = feed
    assert main(["explain", "--feed-log", str(path), "--detector", "nope"]) != 0
    err = capsys.readouterr().err
    assert "no detector named 'nope'" in err and "spoofing" in err and "Traceback" not in err
    assert main(["explain", "--feed-log", str(tmp_path / "absent.jsonl"), "--detector",
                 "spoofing"]) != 0
    assert "not found" in capsys.readouterr().err


def test_table_output(feed, capsys):
    path, _ = feed
    assert main(["explain", "--feed-log", str(path), "--detector", "iceberg"]) == 0
    out = capsys.readouterr().out
    assert "event kinds" in out and "read by iceberg" in out and "thresholds in effect" in out
