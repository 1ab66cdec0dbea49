"""Fatigue rules with a controlled clock: no network, no sleeping."""

from __future__ import annotations

from typing import Any

import attrs
from horizon_flow_alert_apprise.config import RouteConfig
from horizon_flow_alert_apprise.items import AlertItem, item_from_finding, item_from_record
from horizon_flow_alert_apprise.policy import (
    BELOW_SEVERITY,
    DEDUPED,
    DROPPED,
    FILTERED,
    OUTSIDE_WINDOW,
    QUEUED,
    RATE_LIMITED,
    Alert,
    Digest,
    RoutePolicy,
)

from horizon_flow_core.audit.chain import AuditRecord

NS = 1_000_000_000


def cfg(**kw: Any) -> RouteConfig:
    base: dict[str, Any] = {"url_env": "X", "dedupe_window_s": 0, "rate_limit": 0,
                            "escalate_after": 0}
    base.update(kw)
    return RouteConfig(**base)


def item(make_finding: Any, **kw: Any) -> AlertItem:
    return item_from_finding(make_finding(**kw), None)


def record(category: str, **payload: Any) -> AuditRecord:
    return AuditRecord(seq=7, ts=5, category=category, payload=payload, prev_hash="0" * 64,
                       hash="ab" * 32)


def test_scope_filters(make_finding: Any, clock: Any) -> None:
    p = RoutePolicy("r", cfg(categories=["spoofing", "layer*"], venues=["polymarket"],
                             markets=["0xmarket"], confidence_min=0.8), "low")
    now = clock()
    assert p.offer(item(make_finding), now).status == QUEUED
    assert p.offer(item(make_finding, category="layering"), now).status == QUEUED
    assert p.offer(item(make_finding, category="wash_trade"), now).status == FILTERED
    assert p.offer(item(make_finding, venue="kalshi"), now).status == FILTERED
    assert p.offer(item(make_finding, market="other"), now).status == FILTERED
    assert p.offer(item(make_finding, confidence=0.5), now).status == FILTERED
    disabled = RoutePolicy("d", cfg(enabled=False), "low")
    assert disabled.offer(item(make_finding), now).status == FILTERED


def test_severity_floor_and_route_minimum(make_finding: Any, clock: Any) -> None:
    floor_high = RoutePolicy("r", cfg(severity_min="low"), "high")
    assert floor_high.offer(item(make_finding, severity="medium"), clock()).status == BELOW_SEVERITY
    assert floor_high.offer(item(make_finding, severity="high"), clock()).status == QUEUED
    pager = RoutePolicy("p", cfg(severity_min="critical"), "low")
    assert pager.offer(item(make_finding, severity="high"), clock()).status == BELOW_SEVERITY
    assert pager.offer(item(make_finding, severity="critical"), clock()).status == QUEUED
    # an unknown floor falls back to the documented default, high
    assert RoutePolicy("x", cfg(), "bogus").severity_floor == "high"


def test_operational_events_only_when_listed(clock: Any) -> None:
    gap = item_from_record(record("feed.gap", venue="kalshi", market_id="KX", gap_ms=9000))
    assert gap is not None and gap.severity == "high" and gap.kind == "operational"
    assert RoutePolicy("all", cfg(), "high").offer(gap, clock()).status == FILTERED
    assert RoutePolicy("ops", cfg(categories=["feed.*"]), "high").offer(gap, clock()).status \
        == QUEUED
    assert RoutePolicy("star", cfg(categories=["*"]), "high").offer(gap, clock()).status == QUEUED
    # the global floor is for findings; operational events follow the route minimum only
    err = item_from_record(record("component.error", component="x"))
    assert err is not None and err.severity == "medium"
    assert RoutePolicy("o", cfg(categories=["component.*"]), "critical").offer(
        err, clock()).status == QUEUED
    assert item_from_record(record("flow.anomaly")) is None
    assert item_from_record(record("alert.dead_letter")) is None
    chain = item_from_record(record("audit.chain_failed", reason="hash mismatch at seq 9"))
    assert chain is not None and chain.severity == "critical"
    assert "hash mismatch at seq 9" in chain.message


def test_dedupe_counts_into_the_next_alert(make_finding: Any, clock: Any) -> None:
    p = RoutePolicy("r", cfg(dedupe_window_s=600), "low")
    first = p.offer(item(make_finding, ts=1 * NS), clock())
    assert first.status == QUEUED
    clock.advance(10)
    assert p.offer(item(make_finding, ts=2 * NS), clock()).status == DEDUPED
    clock.advance(10)
    assert p.offer(item(make_finding, ts=3 * NS), clock()).status == DEDUPED
    # another actor, market or category is not "similar"
    assert p.offer(item(make_finding, actor="0xother"), clock()).status == QUEUED
    assert p.offer(item(make_finding, market="m2"), clock()).status == QUEUED
    assert p.offer(item(make_finding, category="layering"), clock()).status == QUEUED
    clock.advance(600)
    later = p.offer(item(make_finding, ts=4 * NS), clock())
    assert later.status == QUEUED
    (alert,) = later.outgoing
    assert isinstance(alert, Alert)
    assert alert.annotations.similar_count == 2 and alert.annotations.similar_since_ns == 2 * NS
    # the count was told: the next one starts from zero
    clock.advance(601)
    (again,) = p.offer(item(make_finding, ts=5 * NS), clock()).outgoing
    assert isinstance(again, Alert) and again.annotations.similar_count == 0


def test_rate_limit_holds_back_and_digest_goes_out_when_the_window_reopens(
        make_finding: Any, clock: Any) -> None:
    p = RoutePolicy("r", cfg(rate_limit=2, rate_window_s=60), "low")
    statuses = []
    for i in range(5):
        statuses.append(p.offer(item(make_finding, actor=f"a{i}", ts=i * NS), clock()).status)
        clock.advance(1)
    assert statuses == [QUEUED, QUEUED, RATE_LIMITED, RATE_LIMITED, RATE_LIMITED]
    assert p.held == 3
    assert p.tick(clock()) == []  # window still full
    clock.advance(54)  # t=59: the first send (t=0) is still inside the 60 s window
    assert p.tick(clock()) == []
    clock.advance(1)  # t=60: it leaves the window
    (digest,) = p.tick(clock())
    assert isinstance(digest, Digest)
    assert digest.reason == "rate limit" and digest.total == 3
    assert [a.item.actor_id for a in digest.examples] == ["a2", "a3", "a4"]
    assert digest.counts == (("spoofing", "high", 3),)
    assert p.held == 0
    # the digest used the freed slot; the next alert waits for the second one (sent at t=1)
    assert p.offer(item(make_finding, actor="a8"), clock()).status == RATE_LIMITED
    clock.advance(1)
    decision = p.offer(item(make_finding, actor="a9"), clock())
    # the slot goes to what was held (a8, alone: sent as itself), a9 waits behind it
    assert decision.status == RATE_LIMITED
    (held,) = decision.outgoing
    assert isinstance(held, Alert) and held.item.actor_id == "a8"
    clock.advance(60)  # both slots free: the held a9, then a10
    decision = p.offer(item(make_finding, actor="a10"), clock())
    assert decision.status == QUEUED
    assert [o.item.actor_id for o in decision.outgoing if isinstance(o, Alert)] == ["a9", "a10"]
    assert p.offer(item(make_finding, actor="a11"), clock()).status == RATE_LIMITED


def test_digest_is_released_by_the_next_offer_before_that_offer(make_finding: Any,
                                                                  clock: Any) -> None:
    p = RoutePolicy("r", cfg(rate_limit=1, rate_window_s=10), "low")
    p.offer(item(make_finding, actor="a"), clock())
    assert p.offer(item(make_finding, actor="b"), clock()).status == RATE_LIMITED
    assert p.offer(item(make_finding, actor="c"), clock()).status == RATE_LIMITED
    clock.advance(11)
    decision = p.offer(item(make_finding, actor="d"), clock())
    # window reopened: the digest takes the one slot, the new alert is held for the next
    assert decision.status == RATE_LIMITED
    (digest,) = decision.outgoing
    assert isinstance(digest, Digest) and digest.total == 2


def test_digest_keeps_only_max_items_but_counts_everything(make_finding: Any,
                                                           clock: Any) -> None:
    p = RoutePolicy("r", cfg(rate_limit=1, digest_max_items=2), "low")
    p.offer(item(make_finding, actor="first"), clock())
    for i in range(6):
        p.offer(item(make_finding, actor=f"h{i}", severity="critical" if i == 3 else "high"),
                clock())
    (digest,) = p.close_flush(clock())
    assert digest.reason == "shutdown" and digest.total == 6 and len(digest.examples) == 2
    assert digest.max_severity == "critical"
    assert digest.counts == (("spoofing", "critical", 1), ("spoofing", "high", 5))
    assert p.close_flush(clock()) == []


def test_digest_off_drops_but_counts(make_finding: Any, clock: Any) -> None:
    p = RoutePolicy("r", cfg(rate_limit=1, digest=False), "low")
    p.offer(item(make_finding, actor="a"), clock())
    assert p.offer(item(make_finding, actor="b"), clock()).status == DROPPED
    assert p.held == 0 and p.close_flush(clock()) == []


def test_close_flush_reports_similar_counts_not_yet_told(make_finding: Any, clock: Any) -> None:
    p = RoutePolicy("r", cfg(dedupe_window_s=600), "low")
    p.offer(item(make_finding, ts=1), clock())
    p.offer(item(make_finding, ts=2), clock())
    p.offer(item(make_finding, ts=3), clock())
    (digest,) = p.close_flush(clock())
    assert digest.total == 0
    assert digest.similar == ((("polymarket", "0xactor", "0xmarket", "spoofing"), 2, 2),)


def test_escalation_third_high_on_one_actor_within_the_window(make_finding: Any,
                                                              clock: Any) -> None:
    p = RoutePolicy("pager", cfg(severity_min="critical", escalate_after=3,
                                 escalate_window_s=3600, dedupe_window_s=600), "high")
    assert p.offer(item(make_finding, category="spoofing"), clock()).status == BELOW_SEVERITY
    clock.advance(600)
    assert p.offer(item(make_finding, category="layering"), clock()).status == BELOW_SEVERITY
    clock.advance(600)
    third = p.offer(item(make_finding, category="spoofing", market="m2"), clock())
    assert third.status == QUEUED and third.escalated
    (alert,) = third.outgoing
    assert isinstance(alert, Alert)
    assert alert.item.severity == "critical"
    assert alert.annotations.escalated_from == "high"
    assert "3rd finding of high or above on actor 0xactor within 3600 s" \
        in (alert.annotations.escalation_note or "")
    # the count restarts after an escalation
    assert p.offer(item(make_finding), clock()).status == BELOW_SEVERITY
    # medium findings do not count; other actors have their own count
    for _ in range(3):
        assert not p.offer(item(make_finding, severity="medium"), clock()).escalated


def test_escalation_window_expires_and_escalation_skips_dedupe(make_finding: Any,
                                                              clock: Any) -> None:
    p = RoutePolicy("r", cfg(escalate_after=2, escalate_window_s=100, dedupe_window_s=1000),
                    "low")
    assert p.offer(item(make_finding), clock()).status == QUEUED
    clock.advance(101)
    # the first one left the escalation window: no escalation, and deduped
    d = p.offer(item(make_finding), clock())
    assert d.status == DEDUPED and not d.escalated
    clock.advance(50)
    d = p.offer(item(make_finding), clock())
    assert d.escalated and d.status == QUEUED  # escalated alerts are never deduped
    (alert,) = d.outgoing
    assert isinstance(alert, Alert) and alert.item.severity == "critical"


def test_time_windows_with_the_fake_clock(make_finding: Any, clock: Any) -> None:
    # clock starts at 15:00 UTC on a Thursday
    p = RoutePolicy("desk", cfg(windows=["13:00-21:00"], weekdays=["mon", "tue", "wed", "thu",
                                                                   "fri"]), "low")
    assert p.offer(item(make_finding), clock()).status == QUEUED
    clock.advance(6 * 3600)  # 21:00
    assert p.offer(item(make_finding), clock()).status == OUTSIDE_WINDOW
    clock.advance(2 * 86400 - 4 * 3600)  # Saturday 17:00
    assert p.offer(item(make_finding), clock()).status == OUTSIDE_WINDOW
    clock.advance(2 * 86400)  # Monday 17:00
    assert p.offer(item(make_finding), clock()).status == QUEUED
    tokyo = RoutePolicy("tokyo", cfg(windows=["09:00-15:00"], timezone="Asia/Tokyo"), "low")
    # Monday 17:00 UTC is Tuesday 02:00 in Tokyo
    assert tokyo.offer(item(make_finding), clock()).status == OUTSIDE_WINDOW
    clock.advance(8 * 3600)  # Tuesday 01:00 UTC = 10:00 Tokyo
    assert tokyo.offer(item(make_finding), clock()).status == QUEUED


def test_taxonomy_is_taken_from_the_profile(make_finding: Any, make_profile: Any) -> None:
    it = item_from_finding(make_finding(), make_profile())
    assert it.taxonomy_class == "high_frequency" and it.taxonomy_prob == 0.71
    assert item_from_finding(make_finding(), None).taxonomy_class is None
    assert attrs.evolve(it, severity="low").rank == 0
