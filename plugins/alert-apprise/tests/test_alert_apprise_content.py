from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from horizon_flow_alert_apprise.content import (
    Annotations,
    ReproContext,
    format_ts,
    render,
    render_digest,
)
from horizon_flow_alert_apprise.items import item_from_finding, item_from_record
from horizon_flow_alert_apprise.router import repro_from_runtime

from horizon_flow_core.audit.chain import AuditLog, AuditRecord, MemoryAuditSink
from horizon_flow_core.components import Runtime

DEFAULT_T = "[{SEVERITY}] {category}: {actor} on {venue}/{market_id}{similar}"


def test_default_alert_explains_itself(make_finding: Any, make_profile: Any) -> None:
    f = make_finding(ts=1_732_201_200_123_456_789)
    item = item_from_finding(f, make_profile())
    title, body, problem = render(item, Annotations(), ReproContext(), "desk", DEFAULT_T,
                                  "{explanation}")
    assert problem is None
    assert title == "[HIGH] spoofing: 0xactor on polymarket/0xmarket"
    assert "What: bait order 5000 cancelled 120 ms after the opposite fill" in body
    assert "Evidence: bait_size=5000, cancel_ms=120, imbalance=0.4321" in body
    assert "Citation: CFTC v. Sarao (2015); Dodd-Frank 747" in body
    assert "Actor: 0xactor, taxonomy high_frequency (p=0.71)" in body
    assert f"Finding id: {f.id}" in body
    assert ("flow replay --feed-log '<feed-log>' --config '<config>' --store /tmp/replay.db"
            in body)
    assert ("flow anomalies --db /tmp/replay.db --actor 0xactor --market 0xmarket "
            "--category spoofing --since 2024-11-21T15:00:00.123456789Z") in body
    assert "Route: desk" in body


def test_similar_escalation_and_unprofiled_actor(make_finding: Any) -> None:
    item = item_from_finding(make_finding(severity="critical"), None)
    a = Annotations(similar_count=4, similar_since_ns=1_732_201_200_000_000_000,
                    escalated_from="high", escalation_note="3rd finding of high or above")
    title, body, _ = render(item, a, ReproContext(), "pager", DEFAULT_T, "{explanation}")
    assert title.startswith("ESCALATED [CRITICAL]")
    assert title.endswith("(+4 similar since 2024-11-21T15:00:00.000000000Z)")
    assert "Severity: CRITICAL (escalated from high)" in body
    assert "Escalation: 3rd finding of high or above" in body
    assert "taxonomy not yet profiled" in body


def test_custom_templates_and_fallback_when_evidence_key_missing(make_finding: Any) -> None:
    item = item_from_finding(make_finding(), None)
    title, body, problem = render(item, Annotations(), ReproContext(), "r",
                                  "{venue} {confidence_pct}",
                                  "bait {evidence[bait_size]:.0f} / {reproduce}")
    assert problem is None and title == "polymarket 90%"
    assert body.startswith("bait 5000 / flow replay")
    title, body, problem = render(item, Annotations(), ReproContext(), "r", "{venue}",
                                  "{evidence[no_such_key]}")
    assert problem is not None and "KeyError" in problem
    assert "What: bait order" in body and "(note: body template failed" in body


def test_reproduce_uses_the_runtime_paths_and_quotes_them(tmp_path: Path,
                                                          make_finding: Any) -> None:
    class Cfg:
        source_path = tmp_path / "my config.toml"

    # the core's Runtime does not carry the feed path yet: a runtime-like object that does
    rt = SimpleNamespace(config=Cfg(), feed_log="/data/feeds/2024-11-21.jsonl",
                         audit=AuditLog(MemoryAuditSink("sqlite:///data/audit.db")))
    repro = repro_from_runtime(rt)
    assert repro.audit_db == "data/audit.db"
    item = item_from_finding(make_finding(actor="we'ird actor"), None)
    _, body, _ = render(item, Annotations(), repro, "r", DEFAULT_T, "{reproduce}")
    assert body.splitlines()[0] == (
        f"flow replay --feed-log /data/feeds/2024-11-21.jsonl --config '{tmp_path}/my "
        "config.toml' --store /tmp/replay.db")
    assert "--actor 'we'\"'\"'ird actor'" in body
    assert repro_from_runtime(Runtime(config=None)) == ReproContext()


def test_operational_event_alert(make_finding: Any) -> None:
    rec = AuditRecord(seq=41, ts=1_732_201_200_000_000_000, category="feed.stale",
                      payload={"venue": "kalshi", "market_id": "KXBTC", "stale_s": 30.5},
                      prev_hash="0" * 64, hash="f" * 64)
    item = item_from_record(rec)
    assert item is not None
    title, body, _ = render(item, Annotations(), ReproContext(audit_db="a.db"), "ops",
                            DEFAULT_T, "{explanation}")
    assert title == "[HIGH] feed.stale: - on kalshi/KXBTC"
    assert "What: feed.stale on kalshi/KXBTC" in body
    assert "stale_s=30.5" in body
    assert "Citation: audit record seq 41 hash ffffffffffffffff" in body
    assert "flow audit verify --db a.db" in body


def test_digest_text(make_finding: Any) -> None:
    items = [(item_from_finding(make_finding(actor=f"a{i}"), None),
              Annotations(similar_count=i)) for i in range(3)]
    title, body = render_digest("desk", "rate limit", 1_732_201_200_000_000_000, 7, "critical",
                                (("spoofing", "critical", 1), ("spoofing", "high", 6)), items,
                                ((("polymarket", "a9", "m", "layering"), 3, 5),))
    assert title == ("[DIGEST CRITICAL] desk: 7 alert(s) held back by the rate limit since "
                     "2024-11-21T15:00:00.000000000Z")
    assert "  spoofing high: 6" in body
    assert "actor a1 conf 0.90" in body and "(+1 similar)" in body
    assert "... and 4 more" in body
    assert "layering polymarket/m actor a9: +3 since" in body
    assert format_ts(5) == "1970-01-01T00:00:00.000000005Z"
    title, body = render_digest("desk", "shutdown", 5, 0, "low", (), [],
                                ((("polymarket", "a9", "m", "layering"), 3, 5),))
    assert title == "[DIGEST] desk: similar findings not yet reported (sent at shutdown)"
    assert "layering polymarket/m actor a9: +3 since 1970-01-01T00:00:00.000000005Z" in body
