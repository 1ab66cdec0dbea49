"""Finding queries: filters, deterministic order, limits, paging; clusters and policies."""

from __future__ import annotations

from pathlib import Path

import pytest
from horizon_flow_store_sqlite import ClusterRecord, PolicyRecord, SQLiteFlowStore

from horizon_flow_core.components import FindingQuery
from horizon_flow_core.errors import StoreError
from horizon_flow_core.findings import SEVERITY_RANK

N = 60


@pytest.fixture
def store(tmp_path: Path, finding):
    # Written in reverse, so the read order must come from the query, not from insertion.
    with SQLiteFlowStore(tmp_path / "flow.db") as s:
        for i in reversed(range(N)):
            s.write_finding(finding(i))
        yield s


def expected(finding, pred) -> list[str]:
    fs = [finding(i) for i in range(N)]
    return [f.id for f in sorted(fs, key=lambda f: (f.ts, f.seq, f.id)) if pred(f)]


def ids(store, **kw) -> list[str]:
    return [f.id for f in store.findings(FindingQuery(**kw))]


def test_all_findings_in_time_order_and_equal_to_what_was_written(store, finding) -> None:
    got = list(store.findings())
    assert [f.id for f in got] == expected(finding, lambda f: True)
    assert got[5] == finding(5)  # every field, evidence included, reads back equal


@pytest.mark.parametrize(("kw", "pred"), [
    ({"since_ts": 1_732_147_200_010_000_000}, lambda f: f.ts >= 1_732_147_200_010_000_000),
    ({"until_ts": 1_732_147_200_010_000_000}, lambda f: f.ts < 1_732_147_200_010_000_000),
    ({"categories": ("wash_trade", "layering")}, lambda f: f.category in ("wash_trade",
                                                                          "layering")),
    ({"severity_min": "High"}, lambda f: SEVERITY_RANK[f.severity] >= 2),
    ({"severity_min": "critical"}, lambda f: f.severity == "critical"),
    ({"venue": "polymarket"}, lambda f: f.venue == "polymarket"),
    ({"market_id": "M1"}, lambda f: f.market_id == "M1"),
    ({"actor_id": "0xactor3"}, lambda f: f.actor_id == "0xactor3"),
    ({"detector": "layering"}, lambda f: f.detector == "layering"),
    ({"actor_id": "0xactor3", "severity_min": "medium", "market_id": "M0"},
     lambda f: f.actor_id == "0xactor3" and SEVERITY_RANK[f.severity] >= 1
     and f.market_id == "M0"),
    ({"actor_id": "nobody"}, lambda f: False),
])
def test_filters(store, finding, kw, pred) -> None:
    want = expected(finding, pred)
    assert ids(store, **kw) == want
    assert store.count_findings(FindingQuery(**kw)) == len(want)


def test_limit_zero_means_all(store, finding) -> None:
    assert ids(store, limit=0) == expected(finding, lambda f: True)
    assert ids(store, limit=7) == expected(finding, lambda f: True)[:7]
    assert ids(store, limit=7, venue="polymarket") == expected(
        finding, lambda f: f.venue == "polymarket")[:7]


def test_bad_query_values_are_clear_errors(store) -> None:
    with pytest.raises(StoreError, match="unknown severity 'severe'"):
        list(store.findings(FindingQuery(severity_min="severe")))
    with pytest.raises(StoreError, match="limit must be >= 0"):
        list(store.findings(FindingQuery(limit=-1)))


def test_ties_on_time_are_ordered_by_seq_then_id(tmp_path: Path, finding) -> None:
    fs = [finding(i, ts=5, seq=s) for i, s in ((0, 2), (1, 1), (2, 1), (3, 1))]
    with SQLiteFlowStore(tmp_path / "flow.db") as s:
        for f in fs:
            s.write_finding(f)
        got = [f.id for f in s.findings()]
    assert got == [f.id for f in sorted(fs, key=lambda f: (f.seq, f.id))]


def test_paging_over_more_rows_than_one_page(tmp_path: Path, finding) -> None:
    n = 4_500  # the store reads 2,000 rows per page
    fs = [finding(i, ts=1_000 + i // 3) for i in range(n)]  # ties across page boundaries
    with SQLiteFlowStore(tmp_path / "flow.db") as s:
        for f in fs:
            s.write_finding(f)
        got = [f.id for f in s.findings()]
        limited = [f.id for f in s.findings(FindingQuery(limit=2_001))]
    want = [f.id for f in sorted(fs, key=lambda f: (f.ts, f.seq, f.id))]
    assert got == want and limited == want[:2_001]


def test_summary_counts(store) -> None:
    summary = store.summary()
    assert summary["findings"] == N
    assert summary["findings_by_category"] == {"layering": 15, "quote_stuffing": 15,
                                               "spoofing": 15, "wash_trade": 15}
    assert list(summary["findings_by_severity"]) == ["low", "medium", "high", "critical"]


def test_clusters_upsert_and_lookup_by_member(tmp_path: Path) -> None:
    with SQLiteFlowStore(tmp_path / "flow.db") as s:
        s.upsert_cluster(ClusterRecord("c1", "hyperliquid", ("b", "a"), "co-trading", 0.7,
                                       {"n": 2}, 10, 100))
        s.upsert_cluster(ClusterRecord("c2", "kalshi", ("c",), "co-trading", 0.2))
        s.upsert_cluster(ClusterRecord("c1", "hyperliquid", ("a", "b", "d"), "co-trading", 0.9,
                                       {"n": 3}, 20, 200))
        (c1, c2) = s.clusters()
        assert (c1.members, c1.score, c1.features, c1.ts) == (("a", "b", "d"), 0.9, {"n": 3}, 200)
        assert c2.cluster_id == "c2"
        assert [c.cluster_id for c in s.clusters(actor_id="d")] == ["c1"]
        assert [c.cluster_id for c in s.clusters(venue="kalshi")] == ["c2"]
        assert s.clusters(actor_id="zzz") == []


def test_policies_append_only_with_dedupe(tmp_path: Path) -> None:
    p1 = PolicyRecord(venue="v", actor_id="a", model="irl", params={"w": [1, 2]}, ts=10, seq=1)
    p2 = PolicyRecord(venue="v", actor_id="a", model="irl", params={"w": [1, 3]}, ts=20, seq=2)
    with SQLiteFlowStore(tmp_path / "flow.db") as s:
        assert s.append_policy(p2) is True
        assert s.append_policy(p1) is True
        assert s.append_policy(p1) is False  # already stored
        got = s.policies(actor_id="a")
    assert [(p.ts, p.params) for p in got] == [(10, {"w": [1, 2]}), (20, {"w": [1, 3]})]
    assert got[0].id == p1.content_id()
