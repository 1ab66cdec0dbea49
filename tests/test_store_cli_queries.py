"""``flow anomalies``, ``profile``, ``replay`` and ``diff`` through the real CLI on real stores.

Expected results are computed from the store's own complete export, never
hard-coded, so the tests follow the detectors as they are tuned; each test
first checks the data gives its filter something to separate.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from horizon_flow_core.cli import output
from horizon_flow_core.cli.app import main
from horizon_flow_core.exports import format_ts
from horizon_flow_core.findings import SEVERITY_RANK
from horizon_flow_core.profiles import TAXONOMY_CLASSES

from .conftest import run_flow as flow
from .conftest import sqlite_rows as rows
from .conftest import write_two_venue_feed

pytest.importorskip("horizon_flow_store_sqlite", reason="the SQLite store plugin is not installed")
pytest.importorskip("horizon_flow_detectors_builtin",
                    reason="the built-in detectors plugin is not installed")

#: The high-severity report of the seeds' daily job (operations.txt), verbatim.
SEEDS_JQ = '[.[] | select(.severity | IN("high", "critical"))]'

#: Configs around the iceberg detector's defaults (min_executions 3, min_refills 2,
#: min_exec_to_display_ratio 2.0): one that can never fire, one that fires more easily.
TIGHT = "[detectors.iceberg]\nmin_executions = 1000\n"
LOOSE = ("[detectors.iceberg]\nmin_executions = 2\nmin_refills = 1\n"
         "min_exec_to_display_ratio = 1.0\nmin_executed_volume = 10.0\n")


# --------------------------------------------------------------------------- helpers


def iso(ns: int) -> str:
    """``ns`` as the ISO 8601 UTC form the seeds use (exact to the microsecond)."""
    dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
    return dt.isoformat().replace("+00:00", "Z")


@attrs.frozen
class Store:
    feed: Path
    db: Path
    audit: Path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("queries")
    feed = root / "day.jsonl"
    write_two_venue_feed(feed)
    db, audit = root / "flow.db", root / "audit.db"
    assert main(["scan", "--feed-log", str(feed), "--db", str(db), "--audit-db", str(audit),
                 "--json", "--no-progress"]) == 0
    (n,) = rows(db, "SELECT count(*) FROM findings")[0]
    assert n >= 5, "the synthetic feed should give findings of several categories"
    return Store(feed=feed, db=db, audit=audit)


def anomalies(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> list[dict[str, Any]]:
    """``flow anomalies --db DB ARGS`` (JSON), parsed."""
    code, out, err = flow(capsys, "anomalies", "--db", str(db), *args)
    assert code == 0, err
    found = json.loads(out)
    assert isinstance(found, list)
    return found


def ids(findings: list[dict[str, Any]]) -> list[str]:
    return [f["id"] for f in findings]


def all_findings(capsys: pytest.CaptureFixture[str], db: Path) -> list[dict[str, Any]]:
    return anomalies(capsys, db, "--limit", "0")


# --------------------------------------------------------------------------- 6. anomalies

FIELDS = {"id", "detector", "category", "severity", "confidence", "venue", "market_id",
          "actor_id", "ts", "seq", "message", "citation", "evidence"}


def test_default_output_is_a_json_array_of_every_finding_oldest_first(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    found = all_findings(capsys, store.db)
    table = [r[0] for r in rows(store.db, "SELECT id FROM findings ORDER BY ts, seq, id")]
    assert ids(found) == table
    assert anomalies(capsys, store.db) == found  # default --limit 1000 covers them all
    for f in found:
        assert set(f) == FIELDS
        assert f["severity"] in ("low", "medium", "high", "critical")
        assert isinstance(f["ts"], int) and isinstance(f["evidence"], dict)
    code, out, _ = flow(capsys, "anomalies", "--db", str(store.db), "--limit", "0",
                        "--format", "jsonl")
    assert code == 0
    lines = out.splitlines()
    assert [json.loads(line) for line in lines] == found
    # canonical lines: sorted keys, no spaces (the bytes replays are compared on)
    assert all(line == json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False) for line in lines)


Case = Callable[[list[dict[str, Any]]], tuple[list[str], list[dict[str, Any]]]]


def _by_category(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    cat = fs[0]["category"]
    return ["--category", cat], [f for f in fs if f["category"] == cat]


def _two_categories(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    cats = sorted({f["category"] for f in fs})[:2]
    return (["--category", cats[0], "--category", cats[1]],
            [f for f in fs if f["category"] in cats])


def _severity_min(level: str) -> Case:
    def case(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
        return (["--severity-min", level],
                [f for f in fs if SEVERITY_RANK[f["severity"]] >= SEVERITY_RANK[level]])
    return case


def _venue(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    return ["--venue", "synthetic-perp"], [f for f in fs if f["venue"] == "synthetic-perp"]


def _market(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    market = fs[-1]["market_id"]
    return ["--market", market], [f for f in fs if f["market_id"] == market]


def _actor(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    actor = next(f["actor_id"] for f in fs if f["actor_id"])
    return ["--actor", actor], [f for f in fs if f["actor_id"] == actor]


def _since_until_iso(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    since_ns = fs[1]["ts"] // 1000 * 1000  # ISO carries microseconds: floor, then ceil
    until_ns = (fs[-2]["ts"] // 1000 + 1) * 1000
    return (["--since", iso(since_ns), "--until", iso(until_ns)],
            [f for f in fs if since_ns <= f["ts"] <= until_ns])


def _since_ns(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    return ["--since", str(fs[2]["ts"])], [f for f in fs if f["ts"] >= fs[2]["ts"]]


def _since_hours(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    # the cutoff goes in the widest gap between findings, so the moment the CLI takes
    # "now" (a little after this) cannot move it past a finding
    k = max(range(1, len(fs)), key=lambda i: fs[i]["ts"] - fs[i - 1]["ts"])
    assert fs[k]["ts"] - fs[k - 1]["ts"] > 2_000_000_000, "findings too close together"
    cutoff = (fs[k - 1]["ts"] + fs[k]["ts"]) // 2
    hours = (time.time_ns() - cutoff) / 3_600e9
    return ["--since-hours", repr(hours)], fs[k:]


def _limit(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    return ["--limit", "3"], fs[-3:]


def _filters_and_limit(fs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    since_ns = fs[1]["ts"]
    match = [f for f in fs if f["venue"] == "synthetic" and f["ts"] >= since_ns
             and SEVERITY_RANK[f["severity"]] >= SEVERITY_RANK["medium"]]
    return (["--venue=synthetic", f"--since={iso(since_ns)}", "--severity-min=MEDIUM",
             "--limit=2"], match[-2:])


CASES: dict[str, Case] = {
    "category": _by_category, "two-categories": _two_categories,
    "severity-min-high": _severity_min("high"), "severity-min-critical": _severity_min("critical"),
    "venue": _venue, "market": _market, "actor": _actor, "since-until-iso": _since_until_iso,
    "since-ns": _since_ns, "since-hours": _since_hours, "limit": _limit,
    "combined": _filters_and_limit,
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_anomalies_filters(store: Store, capsys: pytest.CaptureFixture[str], case: Case) -> None:
    everything = all_findings(capsys, store.db)
    args, expected = case(everything)
    assert expected, f"{args}: the feed gives this filter nothing to find"
    assert len(expected) < len(everything), f"{args}: the filter should leave some out"
    assert ids(anomalies(capsys, store.db, *args)) == ids(expected)


def test_since_hours_of_the_recent_past_finds_nothing_old(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert all_findings(capsys, store.db)  # the feed is from 2025: nothing in the last day
    assert anomalies(capsys, store.db, "--since-hours", "24") == []


def test_table_format(store: Store, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output.console, "width", 2000)  # one line per row, nothing folded
    expected = anomalies(capsys, store.db, "--severity-min", "high")
    code, out, _ = flow(capsys, "anomalies", "--db", str(store.db), "--severity-min", "high",
                        "--format", "table")
    assert code == 0
    assert out.splitlines()[0].strip() == f"{len(expected)} findings"
    def cells(line: str, bar: str) -> list[str]:
        return [c.strip() for c in line.strip().strip(bar).split(bar)]

    lines = out.splitlines()
    assert [cells(line, "┃") for line in lines if line.startswith("┃")] == [
        ["time (UTC)", "severity", "category", "venue", "market", "actor", "confidence",
         "message"]]
    assert [cells(line, "│") for line in lines if line.startswith("│")] == [
        [format_ts(f["ts"]), f["severity"], f["category"], f["venue"], f["market_id"],
         f["actor_id"] or "-", f"{f['confidence']:.2f}", f["message"]] for f in expected]


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "xml"], "--format: 'xml' is not one of json, jsonl, table"),
    (["--severity-min", "urgent"], "--severity-min: "),
    (["--since", "yesterday"], "--since: 'yesterday' is not an ISO 8601 time"),
    (["--until", "2025-13-45"], "--until: '2025-13-45' is not an ISO 8601 time"),
    (["--limit", "-1"], "--limit: must be >= 0"),
])
def test_anomalies_bad_options_are_one_line_errors(
        store: Store, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = flow(capsys, "anomalies", "--db", str(store.db), *args)
    assert code != 0 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}")


def test_anomalies_on_a_missing_store_is_an_error_and_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.db"
    code, out, err = flow(capsys, "anomalies", "--db", str(missing))
    assert code != 0 and out == ""
    assert err.strip() == f"error: {missing}: no such flow store"
    assert not missing.exists()


def test_seeds_jq_report_with_real_jq(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq is not installed (apt-get install jq); the Python equivalent still runs")
    everything = all_findings(capsys, store.db)
    hours = (time.time_ns() - everything[0]["ts"]) / 3_600e9 + 1
    # the seeds' daily job (operations.txt), option spelling included
    code, out, _ = flow(capsys, "anomalies", f"--db={store.db}", f"--since-hours={hours}",
                        "--limit=1000")
    assert code == 0
    res = subprocess.run([jq, SEEDS_JQ], input=out, capture_output=True, text=True,
                         timeout=30, check=True)
    report = json.loads(res.stdout)
    expected = [f for f in everything if f["severity"] in ("high", "critical")]
    assert expected, "the feed should have high or critical findings"
    # ids and severities, not whole records: jq before 1.7 holds numbers as doubles and
    # rounds integer nanosecond times (ts, evidence times) to about 17 digits
    assert [(f["id"], f["severity"]) for f in report] == \
        [(f["id"], f["severity"]) for f in expected]
    assert ids(report) == ids(anomalies(capsys, store.db, "--severity-min", "high",
                                        "--limit", "0"))
    count = subprocess.run([jq, "length"], input=res.stdout, capture_output=True, text=True,
                           timeout=30, check=True)
    assert int(count.stdout) == len(report)


def test_seeds_report_in_python(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    """What the jq pipeline does, in Python: runs where jq is absent."""
    everything = all_findings(capsys, store.db)
    hours = (time.time_ns() - everything[0]["ts"]) / 3_600e9 + 1
    code, out, _ = flow(capsys, "anomalies", f"--db={store.db}", f"--since-hours={hours}",
                        "--limit=1000")
    assert code == 0
    doc = json.loads(out)
    assert isinstance(doc, list) and all(isinstance(f, dict) for f in doc)
    report = [f for f in doc if f["severity"] in ("high", "critical")]
    assert report and len(report) < len(doc)
    assert report == anomalies(capsys, store.db, "--severity-min", "high", "--limit", "0")


# --------------------------------------------------------------------------- 10. profile


def test_profile_shows_taxonomy_and_findings(store: Store, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    everything = all_findings(capsys, store.db)
    profiled = {r[0] for r in rows(store.db, "SELECT actor_id FROM actor_profiles")}
    counts: dict[str, int] = {}
    for f in everything:
        if f["actor_id"] in profiled:
            counts[f["actor_id"]] = counts.get(f["actor_id"], 0) + 1
    assert counts, "no actor with both findings and a profile"
    actor = max(sorted(counts), key=lambda a: counts[a])

    code, out, err = flow(capsys, "profile", "--actor", actor, "--db", str(store.db), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["actor_id"] == actor and doc["profiles"]
    for p in doc["profiles"]:
        assert p["actor_id"] == actor and p["event_count"] > 0
        assert sorted(p["taxonomy"]) == sorted(TAXONOMY_CLASSES)
        assert all(0.0 <= v <= 1.0 for v in p["taxonomy"].values())
        assert math.isclose(sum(p["taxonomy"].values()), 1.0, abs_tol=1e-9)
    assert doc["findings"] == anomalies(capsys, store.db, "--actor", actor, "--limit", "0")
    assert len(doc["findings"]) == counts[actor]

    monkeypatch.setattr(output.console, "width", 2000)
    code, out, _ = flow(capsys, "profile", "--actor", actor, "--db", str(store.db))
    assert code == 0
    p = doc["profiles"][0]
    top = max(p["taxonomy"].items(), key=lambda kv: (kv[1], kv[0]))[0]
    assert f"{actor} on {p['venue']}: {p['event_count']} events, class {top}" in out
    assert f"{len(doc['findings'])} findings" in out
    for cls, v in p["taxonomy"].items():
        assert any(line.replace(" ", "") == f"│{cls}│{v:.3f}│" for line in out.splitlines())


def test_profile_of_an_unknown_actor_is_a_one_line_error(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = flow(capsys, "profile", "--actor", "0xnobody", "--db", str(store.db))
    assert code == 1 and out == ""
    assert err.strip() == f"error: actor '0xnobody': no profile and no findings in {store.db}"


# --------------------------------------------------------------------------- 4. replay


def replay(capsys: pytest.CaptureFixture[str], feed: Path, config: Path, target: Path,
           export: Path, *extra: str) -> tuple[str, int, str]:
    """Replay into ``target``; the printed digest, its finding count and the chain head."""
    code, out, err = flow(capsys, "replay", "--feed-log", str(feed), "--config", str(config),
                          "--store", str(target), "--export", str(export), *extra)
    assert code == 0, err
    lines = out.splitlines()
    digest_line = next(line for line in lines if line.startswith("findings digest: "))
    digest, n = digest_line.removeprefix("findings digest: ").split(" (", 1)
    head = next(line for line in lines if line.startswith("audit chain head: "))
    return digest, int(n.split()[0]), head.removeprefix("audit chain head: ")


def test_two_replays_are_byte_identical(store: Store, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "flow.toml"
    config.write_text(LOOSE)
    first = tmp_path / "one" / "flow.db"
    second = tmp_path / "two" / "elsewhere.db"  # another folder and name: no effect
    for p in (first, second):
        p.parent.mkdir()
    d1 = replay(capsys, store.feed, config, first, tmp_path / "one.jsonl")
    d2 = replay(capsys, store.feed, config, second, tmp_path / "two.jsonl")
    assert d1 == d2
    digest, n, head = d1
    export = (tmp_path / "one.jsonl").read_bytes()
    assert export == (tmp_path / "two.jsonl").read_bytes()
    assert n == len(export.splitlines()) and n > 0
    assert digest == hashlib.sha256(export).hexdigest()

    # the audit chains, record by record (default location: beside the store)
    audits = [first.with_name("flow.audit.db"), second.with_name("elsewhere.audit.db")]
    chains = [rows(a, "SELECT seq, ts, category, payload, prev_hash, hash FROM audit "
                      "ORDER BY seq") for a in audits]
    assert chains[0] == chains[1] and len(chains[0]) > n
    assert chains[0][-1][5] == head
    assert rows(first, "SELECT * FROM findings ORDER BY pos") == \
        rows(second, "SELECT * FROM findings ORDER BY pos")
    for a in audits:
        code, out, _ = flow(capsys, "audit", "verify", "--db", str(a), "--json")
        assert code == 0 and json.loads(out)["records"] == len(chains[0])

    # a replay wants a fresh store; --overwrite replaces it and gives the same bytes again
    code, _, err = flow(capsys, "replay", "--feed-log", str(store.feed), "--config", str(config),
                        "--store", str(first))
    assert code != 0
    assert err.strip() == (f"error: {first}: already exists; replay needs a fresh store (use "
                           "--overwrite to replace it)")
    assert replay(capsys, store.feed, config, first, tmp_path / "three.jsonl",
                  "--overwrite") == d1
    assert (tmp_path / "three.jsonl").read_bytes() == export


# --------------------------------------------------------------------------- 9. diff


def diff_json(capsys: pytest.CaptureFixture[str], a: Path, b: Path) -> tuple[int, dict[str, Any]]:
    code, out, err = flow(capsys, "diff", str(a), str(b), "--json")
    assert "Traceback" not in err
    return code, json.loads(out)


def scan_with(capsys: pytest.CaptureFixture[str], store: Store, root: Path, name: str,
              config_text: str | None) -> Path:
    db = root / f"{name}.db"
    args = ["scan", "--feed-log", str(store.feed), "--db", str(db), "--audit-db",
            str(root / f"{name}.audit.db"), "--json"]
    if config_text is not None:
        (root / f"{name}.toml").write_text(config_text)
        args += ["--config", str(root / f"{name}.toml")]
    code, _, err = flow(capsys, *args)
    assert code == 0, err
    return db


def test_diff_after_threshold_changes(store: Store, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    base = all_findings(capsys, store.db)
    assert any(f["category"] == "iceberg" for f in base), "the feed should have icebergs"

    tight = scan_with(capsys, store, tmp_path, "tight", TIGHT)
    after = all_findings(capsys, tight)
    assert not any(f["category"] == "iceberg" for f in after)
    code, d = diff_json(capsys, store.db, tight)
    assert code == 1
    gone = {f["id"] for f in base} - {f["id"] for f in after}
    assert {f["id"] for f in d["only_in_a"]} == gone and gone
    assert all(f["category"] == "iceberg" for f in d["only_in_a"])
    assert d["only_in_b"] == [] and d["changed"] == []
    assert d["common"] == len(base) - len(gone)
    code, out, _ = flow(capsys, "diff", str(store.db), str(tight))
    assert code == 1 and f"{len(gone)} only in A ({store.db})" in out

    loose = scan_with(capsys, store, tmp_path, "loose", LOOSE)
    more = all_findings(capsys, loose)
    code, d = diff_json(capsys, store.db, loose)
    assert code == 1
    new = {f["id"] for f in more} - {f["id"] for f in base}
    assert {f["id"] for f in d["only_in_b"]} == new and new
    assert all(f["category"] == "iceberg" for f in d["only_in_b"])
    assert [f["ts"] for f in d["only_in_b"]] == sorted(f["ts"] for f in d["only_in_b"])


def test_diff_of_identical_stores_exits_0(store: Store, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    again = scan_with(capsys, store, tmp_path, "again", None)  # same feed, same (default) config
    code, d = diff_json(capsys, store.db, again)
    assert code == 0
    n = len(all_findings(capsys, store.db))
    assert d["common"] == n and d["only_in_a"] == d["only_in_b"] == d["changed"] == []
    code, out, _ = flow(capsys, "diff", str(store.db), str(again))
    assert code == 0 and f"{n} findings in both" in out


def test_diff_names_a_finding_judged_differently(store: Store, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy.db"
    with closing(sqlite3.connect(f"file:{store.db}?mode=ro", uri=True)) as s, \
            closing(sqlite3.connect(copy, isolation_level=None)) as d:
        s.backup(d)
        d.execute("DROP TRIGGER findings_worm_update")
        d.execute("UPDATE findings SET severity = 'low', severity_rank = 0, confidence = 0.05 "
                  "WHERE pos = 1")
        (fid,) = d.execute("SELECT id FROM findings WHERE pos = 1").fetchone()
    code, doc = diff_json(capsys, store.db, copy)
    assert code == 1
    assert [(c["a"]["id"], c["b"]["id"], c["b"]["severity"]) for c in doc["changed"]] == \
        [(fid, fid, "low")]
    assert doc["only_in_a"] == doc["only_in_b"] == []
