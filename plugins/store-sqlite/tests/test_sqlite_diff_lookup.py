"""``diff_findings``, ``actor_report`` and ``findings_digest``: the read side of the CLI verbs."""

from __future__ import annotations

from pathlib import Path

import attrs
from horizon_flow_store_sqlite import (
    ClusterRecord,
    PolicyRecord,
    SQLiteFlowStore,
    actor_report,
    diff_findings,
    findings_digest,
)

from horizon_flow_core.components import FindingQuery


def make_store(path: Path, findings) -> Path:
    with SQLiteFlowStore(path) as s:
        for f in findings:
            s.write_finding(f)
    return path


def test_diff_reports_only_a_only_b_and_changed(tmp_path: Path, finding) -> None:
    base = [finding(i) for i in range(20)]
    # B: a stricter threshold drops 3 and 7, a new detector adds one, one severity changed,
    # and B saw the events with different ingest seqs (ignored: ids are content-derived).
    changed = attrs.evolve(base[5], severity="critical", confidence=0.99)
    b_findings = [f for f in base if f.id not in (base[3].id, base[7].id, base[5].id)]
    b_findings = [attrs.evolve(f, seq=f.seq + 1000) for f in b_findings]
    extra = finding(100, detector="iceberg", category="iceberg")
    a = make_store(tmp_path / "a.db", base)
    b = make_store(tmp_path / "b.db", [*b_findings, changed, extra])
    d = diff_findings(a, b)
    assert [f.id for f in d.only_a] == [base[3].id, base[7].id]
    assert [f.id for f in d.only_b] == [extra.id]
    assert [(x.id, x.severity, y.severity) for x, y in d.changed] == [
        (base[5].id, base[5].severity, "critical")]
    assert d.common == 17 and not d.identical
    out = d.to_dict()
    assert out["changed"][0]["b"]["confidence"] == 0.99
    assert diff_findings(a, a).identical


def test_diff_with_a_query_and_open_stores(tmp_path: Path, finding) -> None:
    a = make_store(tmp_path / "a.db", [finding(i) for i in range(12)])
    b = make_store(tmp_path / "b.db", [finding(i) for i in range(0, 12, 2)])
    with SQLiteFlowStore(a, read_only=True) as sa, SQLiteFlowStore(b, read_only=True) as sb:
        d = diff_findings(sa, sb, FindingQuery(venue="polymarket", limit=1))
    # only odd findings are missing from b; of those only 5 is on polymarket (i % 5 == 0)
    assert [f.id for f in d.only_a] == [finding(5).id]
    assert d.only_b == () and d.common == 2


def test_actor_report(tmp_path: Path, finding, profile) -> None:
    db = tmp_path / "flow.db"
    with SQLiteFlowStore(db) as s:
        for i in range(30):
            s.write_finding(finding(i))
        s.upsert_profile(profile("0xactor3", 40))
        s.upsert_profile(profile("0xactor3", 5, venue="polymarket"))
        s.upsert_cluster(ClusterRecord("c1", "hyperliquid", ("0xactor3", "0xactor4"),
                                       "co-trading", 0.8))
        s.append_policy(PolicyRecord("hyperliquid", "0xactor3", "irl", {"w": 1}, ts=9))
    report = actor_report(db, "0xactor3")
    mine = [finding(i) for i in range(30) if finding(i).actor_id == "0xactor3"]
    assert report.found
    assert [f.id for f in report.findings] == [f.id for f in mine]
    assert report.findings_total == len(mine)
    assert sum(report.findings_by_category.values()) == len(mine)
    assert [p.venue for p in report.profiles] == ["hyperliquid", "polymarket"]
    assert [c.cluster_id for c in report.clusters] == ["c1"] and len(report.policies) == 1
    limited = actor_report(db, "0xactor3", limit=2)
    assert [f.id for f in limited.findings] == [f.id for f in mine[-2:]]  # newest kept
    assert limited.findings_total == len(mine)
    venue_only = actor_report(db, "0xactor3", venue="polymarket")
    assert [p.venue for p in venue_only.profiles] == ["polymarket"]
    assert all(f.venue == "polymarket" for f in venue_only.findings)
    d = report.to_dict()
    assert d["profiles"][0]["top_class"] in d["profiles"][0]["taxonomy"]
    assert not actor_report(db, "0xnobody").found


def test_digest_depends_on_content_not_on_write_order(tmp_path: Path, finding) -> None:
    fs = [finding(i) for i in range(25)]
    a = make_store(tmp_path / "a.db", fs)
    b = make_store(tmp_path / "b.db", list(reversed(fs)))
    c = make_store(tmp_path / "c.db", fs[:-1])
    assert findings_digest(a) == findings_digest(b)
    assert findings_digest(a) != findings_digest(c)
