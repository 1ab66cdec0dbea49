"""``flow demo``: the synthetic feed scanned into a real SQLite store and audit log, scored."""

from __future__ import annotations

import json

import pytest

from horizon_flow_core.cli.app import main

pytest.importorskip("horizon_flow_detectors_builtin")
pytest.importorskip("horizon_flow_store_sqlite")

CATEGORIES = {"spoofing", "layering", "quote_stuffing", "wash_trade", "momentum_ignition",
              "iceberg", "split_order"}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out)]) == 0
    return out


def test_every_planted_episode_of_the_default_demo_is_caught(demo_dir):
    summary = json.loads((demo_dir / "summary.json").read_text())
    cats = {c["category"]: c for c in summary["categories"]}
    assert CATEGORIES <= set(cats)
    for name in CATEGORIES:
        assert cats[name]["planted"] == 3
        assert cats[name]["caught"] == 3, (name, [e for e in summary["episodes"]
                                                  if not e["caught"]])
    assert all(e["caught"] and e["first_finding"]["message"] for e in summary["episodes"])
    # every false finding is listed with its detector and the actor's scripted role
    assert len(summary["false_findings"]) == sum(c["false_ordinary"] + c["false_cross"]
                                                 for c in summary["categories"])


def test_files_are_real_stores_that_verify(demo_dir, capfd):
    for name in ("feed.jsonl.gz", "episodes.json", "flow.db", "audit.db", "summary.json"):
        assert (demo_dir / name).is_file()
    assert main(["audit", "verify", "--db", str(demo_dir / "audit.db")]) == 0
    capfd.readouterr()
    assert main(["anomalies", "--db", str(demo_dir / "flow.db"), "--limit", "0"]) == 0
    listed = json.loads(capfd.readouterr().out)
    summary = json.loads((demo_dir / "summary.json").read_text())
    assert len(listed) == summary["findings"] > 0


def test_top_actors_carry_taxonomy_probabilities(demo_dir):
    summary = json.loads((demo_dir / "summary.json").read_text())
    top = summary["top_actors"]
    assert len(top) == 10
    assert [a["notional"] for a in top] == sorted((a["notional"] for a in top), reverse=True)
    classified = [a for a in top if a.get("top_class") not in (None, "(prior)")]
    assert classified
    for a in classified:
        assert abs(sum(a["taxonomy"].values()) - 1.0) <= 1e-12
        assert a["top_class"] == max(a["taxonomy"], key=a["taxonomy"].get)


def test_same_seed_same_summary_and_chain(tmp_path, capfd):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["demo", "--out", str(a), "--events", "12000", "--json"]) == 0
    first = json.loads(capfd.readouterr().out)
    assert main(["demo", "--out", str(a), "--events", "12000", "--json"]) == 0  # rerun in place
    again = json.loads(capfd.readouterr().out)
    assert main(["demo", "--out", str(b), "--events", "12000", "--json"]) == 0
    other_dir = json.loads(capfd.readouterr().out)
    assert again == first
    for key in ("audit_head", "findings_digest", "categories", "top_actors", "findings"):
        assert other_dir[key] == first[key]
    assert other_dir["feed"]["sha256"] == first["feed"]["sha256"]


def test_table_output_names_the_files(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d"), "--events", "8000", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "findings against the planted episodes" in out
    assert "Kirilenko taxonomy" in out
    assert str(tmp_path / "d" / "flow.db") in out and str(tmp_path / "d" / "audit.db") in out


def test_out_path_that_is_a_file_is_a_one_line_error(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("x")
    assert main(["demo", "--out", str(target)]) != 0
    err = capsys.readouterr().err
    assert "not a directory" in err and "Traceback" not in err
