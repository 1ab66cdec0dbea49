"""score_findings: recall, precision and false findings against planted ground truth."""

from __future__ import annotations

from horizon_flow_core.findings import AnomalyFinding
from horizon_flow_core.synthetic import Episode, score_findings

S = 1_000_000_000
T0 = 1_736_172_000 * S


def ep(eid: str, cat: str, actors: tuple[str, ...], start: int, end: int, market: str = "M"
       ) -> Episode:
    return Episode(episode_id=eid, category=cat, market_id=market, actor_ids=actors,
                   start_ts=T0 + start * S, end_ts=T0 + end * S, description="x")


def finding(fid: str, cat: str, actor: str | None, at: int, market: str = "M") -> AnomalyFinding:
    return AnomalyFinding(detector=cat, category=cat, severity="high", confidence=0.9,
                          venue="synthetic", market_id=market, actor_id=actor, ts=T0 + at * S,
                          message=fid, citation="c", id=fid)


def test_matching_by_actor_time_for_anonymous_and_false_kinds():
    episodes = [ep("spoofing-1", "spoofing", ("a",), 10, 12),
                ep("layering-1", "layering", ("b",), 100, 101),
                ep("iceberg-1", "iceberg", ("c",), 200, 210),
                ep("wash_trade-1", "wash_trade", ("d", "e"), 300, 400)]
    findings = [
        finding("f1", "spoofing", "a", 11),
        finding("f2", "spoofing", "a", 900),          # same abuser, later: still its episode
        finding("f3", "layering", "zz", 100),         # right time, wrong actor: false
        finding("f4", "iceberg", None, 250),          # anonymous within slack: caught
        finding("f5", "iceberg", None, 900),          # anonymous far away: false (ordinary)
        finding("f6", "spoofing", "b", 100),          # layering abuser read as spoofing: cross
        finding("f7", "wash_trade", "e", 500),
        finding("f8", "spoofing", "a", 11, market="OTHER"),  # an abuser elsewhere: cross
    ]
    score = score_findings(episodes, findings, slack_s=60)
    cats = score.categories
    assert (cats["spoofing"].caught, cats["spoofing"].findings) == (1, 4)
    assert (cats["spoofing"].true_findings, cats["spoofing"].false_cross,
            cats["spoofing"].false_ordinary) == (2, 2, 0)
    assert cats["spoofing"].precision == 0.5 and cats["spoofing"].recall == 1.0
    assert cats["layering"].caught == 0 and cats["layering"].false_ordinary == 1
    assert (cats["iceberg"].caught, cats["iceberg"].false_ordinary) == (1, 1)
    assert cats["wash_trade"].recall == 1.0
    assert cats["split_order"].recall is None and cats["split_order"].precision is None
    assert [e.episode_id for e in score.missed] == ["layering-1"]
    assert sorted(f.id for f in score.false_findings) == ["f3", "f5", "f6", "f8"]
    d = score.to_dict()
    assert d["episodes"][0]["caught_by"] == ["f1", "f2"]
    assert d["categories"]["spoofing"]["precision"] == 0.5


def test_plugin_categories_are_scored_too():
    score = score_findings([], [finding("g", "resolution_ramp", "x", 1)])
    assert score.categories["resolution_ramp"].findings == 1
    assert score.categories["resolution_ramp"].false_ordinary == 1
