"""Delivery through apprise to real servers on 127.0.0.1: HTTP (json://, form://) and SMTP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from horizon_flow_alert_apprise.commands import retry_dead_letters
from horizon_flow_alert_apprise.config import RouteConfig
from horizon_flow_alert_apprise.content import ReproContext
from horizon_flow_alert_apprise.deadletters import JsonlDeadLetters
from horizon_flow_alert_apprise.router import AppriseRouter

from horizon_flow_core.audit.chain import AuditLog, MemoryAuditSink
from horizon_flow_core.metrics import Registry

FAST = {"retries": 0, "backoff_s": 0.01, "send_timeout_s": 5, "dedupe_window_s": 0,
        "rate_limit": 0, "escalate_after": 0}


def route(**kw: Any) -> RouteConfig:
    base: dict[str, Any] = {"url_env": "ALERT_URL", **FAST}
    base.update(kw)
    return RouteConfig(**base)


def wait_until(cond: Any, timeout: float = 10.0) -> bool:
    """Poll a condition (no timing asserts: the deadline only bounds a broken test)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def test_json_delivery_carries_the_explanation(http_sink: Any, make_finding: Any,
                                               make_profile: Any, clock: Any) -> None:
    metrics = Registry()
    router = AppriseRouter({"desk": route()}, severity_floor="high",
                           environ={"ALERT_URL": f"json://127.0.0.1:{http_sink.port}/hooks/desk"},
                           metrics=metrics, clock=clock,
                           repro=ReproContext(feed_log="data/feeds/2024-11-21.jsonl",
                                              config_path="config/flow.toml"))
    f = make_finding()
    router.notify_finding(f, make_profile())
    router.notify_finding(make_finding(severity="medium"), None)  # below the floor
    router.close(5)
    (req,) = http_sink.requests
    assert req["path"] == "/hooks/desk"
    body = req["body"]
    assert body["title"] == "[HIGH] spoofing: 0xactor on polymarket/0xmarket"
    assert body["type"] == "failure"
    msg = body["message"]
    assert "What: bait order 5000 cancelled 120 ms after the opposite fill" in msg
    assert "Evidence: bait_size=5000, cancel_ms=120, imbalance=0.4321" in msg
    assert "Citation: CFTC v. Sarao (2015); Dodd-Frank 747" in msg
    assert "taxonomy high_frequency (p=0.71)" in msg
    assert ("flow replay --feed-log data/feeds/2024-11-21.jsonl --config config/flow.toml "
            "--store /tmp/replay.db") in msg
    assert "flow anomalies --db /tmp/replay.db --actor 0xactor" in msg
    assert f"Finding id: {f.id}" in msg
    assert metrics.counter("flow_alerts_sent_total").get(route="desk") == 1
    assert router.counters["desk"].sent == 1 and router.counters["desk"].filtered == 1


def test_form_delivery(http_sink: Any, make_finding: Any, clock: Any) -> None:
    router = AppriseRouter({"compliance": route(categories=["wash_trade"],
                                                title_template="{category} {actor}",
                                                body_template="{message} | {citation}")},
                           environ={"ALERT_URL": f"form://127.0.0.1:{http_sink.port}/in"},
                           clock=clock)
    router.notify_finding(make_finding(category="wash_trade", actor="0xwash",
                                       message="self-trade 40 lots", citation="CEA 4c(a)"),
                          None)
    router.notify_finding(make_finding(category="spoofing"), None)  # not this route's
    router.close(5)
    (req,) = http_sink.requests
    assert "x-www-form-urlencoded" in req["ctype"]
    assert req["body"]["title"] == "wash_trade 0xwash"
    assert req["body"]["message"] == "self-trade 40 lots | CEA 4c(a)"


def test_email_through_a_real_smtp_server(smtp_sink: Any, make_finding: Any,
                                          make_profile: Any, clock: Any) -> None:
    url = (f"mailto://127.0.0.1:{smtp_sink.port}?smtp=127.0.0.1&mode=insecure"
           "&from=flow@example.com&to=compliance@example.com")
    router = AppriseRouter({"email": route(categories=["wash_trade"])},
                           environ={"ALERT_URL": url}, clock=clock)
    router.notify_finding(make_finding(category="wash_trade", evidence={"volume": 40.0,
                                                                        "round_trips": 3}),
                          make_profile())
    router.close(10)
    (mail,) = smtp_sink.wait_for(1)
    assert mail["to"] == ["compliance@example.com"]
    assert mail["msg"]["Subject"] == "[HIGH] wash_trade: 0xactor on polymarket/0xmarket"
    text = mail["msg"].get_body(preferencelist=("plain",)).get_content()
    assert "Evidence: round_trips=3, volume=40" in text
    assert "Citation: CFTC v. Sarao (2015); Dodd-Frank 747" in text
    assert "flow replay --feed-log" in text and "taxonomy high_frequency" in text


def test_unreachable_route_is_retried_dead_lettered_audited_and_resent(
        closed_port: Any, dl_store: Any, make_finding: Any, make_http_sink: Any,
        clock: Any) -> None:
    env = {"ALERT_URL": f"json://127.0.0.1:{closed_port.port}/hooks/ops"}
    routes = {"ops": route(retries=2, backoff_s=0.01, backoff_max_s=0.02)}
    audit = AuditLog(MemoryAuditSink())
    metrics = Registry()
    router = AppriseRouter(routes, environ=env, store=dl_store, audit=audit, metrics=metrics,
                           clock=clock)
    f = make_finding()
    router.notify_finding(f, None)
    router.close(5)

    (dl,) = dl_store.dead_letters()
    assert dl["route"] == "ops" and dl["payload"]["attempts"] == 3
    assert dl["payload"]["finding_id"] == f.id
    assert dl["payload"]["title"] == "[HIGH] spoofing: 0xactor on polymarket/0xmarket"
    assert dl["payload"]["targets"] == [{"env": "ALERT_URL", "index": 0, "scheme": "json"}]
    assert "Connection error" in dl["error"]
    assert metrics.counter("flow_alerts_dead_letter_total").get(route="ops") == 1
    assert metrics.counter("flow_alerts_failed_total").get(route="ops") == 1
    assert metrics.counter("flow_alerts_sent_total").get(route="ops") == 0
    assert router.counters["ops"].failed == 1
    # close() flushed the audit log: the engine flushed its own before closing the router
    records = [r for r in audit.sink.records() if r.category == "alert.dead_letter"]
    assert len(records) == 1
    assert records[0].payload["dead_letter_id"] == dl["id"]
    assert records[0].payload["finding_id"] == f.id and records[0].payload["attempts"] == 3
    assert records[0].payload["stored_in"] == "store"
    assert records[0].ts == f.ts
    assert audit.verify()[1] is None

    # the server comes up on that port; retry resends and marks it resent
    sink = make_http_sink(port=closed_port.release())
    report = retry_dead_letters(dl_store, routes, env, clock=clock)
    assert report.resent == (dl["id"],) and report.ok
    (req,) = sink.requests
    assert req["body"]["title"] == dl["payload"]["title"]
    assert "Citation: CFTC v. Sarao" in req["body"]["message"]
    assert dl_store.dead_letters() == []
    (done,) = dl_store.dead_letters(include_resent=True)
    assert done["resent_wall_ns"] == clock()
    # nothing left to resend
    assert retry_dead_letters(dl_store, routes, env).resent == ()


def test_dead_letters_are_written_on_the_next_call_not_only_at_close(
        closed_port: Any, dl_store: Any, make_finding: Any, clock: Any) -> None:
    router = AppriseRouter({"ops": route()}, environ={
        "ALERT_URL": f"json://127.0.0.1:{closed_port.port}/x"}, store=dl_store, clock=clock)
    router.notify_finding(make_finding(), None)
    assert wait_until(lambda: router.counters["ops"].failed == 1)
    assert dl_store.dead_letters() == []  # handed back, not yet written (caller's thread)
    router.tick()
    assert len(dl_store.dead_letters()) == 1
    router.close(1)


def test_full_queue_never_blocks_and_overflow_goes_out_as_one_digest(
        make_http_sink: Any, dl_store: Any, make_finding: Any, clock: Any) -> None:
    slow = make_http_sink(delay_s=0.5)
    metrics = Registry()
    router = AppriseRouter({"slow": route(queue_size=1)},
                           environ={"ALERT_URL": f"json://127.0.0.1:{slow.port}/s"},
                           store=dl_store, metrics=metrics, clock=clock)
    for i in range(6):
        router.notify_finding(make_finding(actor=f"a{i}"), None)
    overflow = router.counters["slow"].overflow
    # the worker holds one in flight and the queue one more: the rest overflowed
    assert overflow >= 3
    assert metrics.counter("flow_alerts_overflow_total").get(route="slow") == overflow
    router.close(10)
    assert dl_store.dead_letters() == []
    bodies = [r["body"] for r in slow.requests]
    digests = [b for b in bodies if b["title"].startswith("[DIGEST")]
    assert digests and all("overflowed the delivery queue" in d["title"] for d in digests)
    told = len(bodies) - len(digests) + sum(
        int(d["title"].split(": ", 1)[1].split(" alert(s)")[0]) for d in digests)
    assert told == 6  # every finding reached the sink, alone or counted in a digest
    actors = {f"a{i}" for i in range(6)}
    seen = {a for a in actors if any(f"actor {a} " in b["message"] or f": {a} on" in b["title"]
                                     for b in bodies)}
    assert seen == actors


def test_overflow_still_waiting_at_shutdown_is_dead_lettered(
        make_http_sink: Any, dl_store: Any, make_finding: Any, clock: Any) -> None:
    slow = make_http_sink(delay_s=1.5)
    router = AppriseRouter({"slow": route(queue_size=1, send_timeout_s=10)},
                           environ={"ALERT_URL": f"json://127.0.0.1:{slow.port}/s"},
                           store=dl_store, clock=clock)
    router.notify_finding(make_finding(actor="first"), None)
    assert wait_until(lambda: router.workers["slow"].depth == 0)  # first is in flight
    for i in range(4):
        router.notify_finding(make_finding(actor=f"later{i}"), None)
    router.close(0.2)
    by_error: dict[str, list[str]] = {}
    for d in dl_store.dead_letters():
        by_error.setdefault(d["error"], []).append(d["payload"]["title"])
    assert by_error["delivery queue still full at shutdown"] == [
        "[DIGEST HIGH] slow: 3 alert(s) overflowed the delivery queue since "
        "2024-11-21T15:00:00.000000000Z"]
    assert by_error["not delivered within the shutdown timeout"] == [
        "[HIGH] spoofing: later0 on polymarket/0xmarket"]
    assert len(by_error["delivery still in progress at the shutdown timeout (it may have "
                        "arrived)"]) == 1


def test_close_timeout_dead_letters_in_flight_and_queued(
        make_http_sink: Any, dl_store: Any, make_finding: Any, clock: Any) -> None:
    slow = make_http_sink(delay_s=1.5)
    router = AppriseRouter({"slow": route(send_timeout_s=10)},
                           environ={"ALERT_URL": f"json://127.0.0.1:{slow.port}/s"},
                           store=dl_store, clock=clock)
    router.notify_finding(make_finding(actor="first"), None)
    router.notify_finding(make_finding(actor="second"), None)
    assert wait_until(lambda: len(slow.requests) == 0 and router.workers["slow"].depth == 1)
    router.close(0.2)
    errors = sorted(d["error"] for d in dl_store.dead_letters())
    assert errors == ["delivery still in progress at the shutdown timeout (it may have arrived)",
                      "not delivered within the shutdown timeout"]
    titles = sorted(d["payload"]["title"] for d in dl_store.dead_letters())
    assert titles == ["[HIGH] spoofing: first on polymarket/0xmarket",
                      "[HIGH] spoofing: second on polymarket/0xmarket"]
    router.close(0.2)  # idempotent
    assert len(dl_store.dead_letters()) == 2


def test_without_a_dead_letter_store_a_jsonl_file_keeps_them(
        closed_port: Any, tmp_path: Path, make_finding: Any, clock: Any) -> None:
    router = AppriseRouter({"ops": route()}, environ={
        "ALERT_URL": f"json://127.0.0.1:{closed_port.port}/x"}, store=object(),
        data_dir=tmp_path, clock=clock)
    router.notify_finding(make_finding(), None)
    router.close(5)
    store = JsonlDeadLetters(tmp_path / "alerts" / "dead_letters.jsonl")
    (dl,) = store.dead_letters()
    assert dl["route"] == "ops" and dl["id"] == 1
    store.mark_dead_letter_resent(1, 99)
    assert store.dead_letters() == []
    assert JsonlDeadLetters(store.path).dead_letters(include_resent=True)[0]["resent_wall_ns"] \
        == 99
    # counters are kept for `flow alerts list`
    assert (tmp_path / "alerts" / "counters.json").exists()


def test_a_store_that_fails_falls_back_to_the_jsonl_file(
        closed_port: Any, tmp_path: Path, make_finding: Any, clock: Any) -> None:
    class BrokenStore:
        def add_dead_letter(self, *a: Any) -> int:
            raise OSError("disk full")

        def dead_letters(self, *a: Any, **k: Any) -> list[Any]:
            return []

        def mark_dead_letter_resent(self, *a: Any) -> None:
            pass

    audit = AuditLog(MemoryAuditSink())
    router = AppriseRouter({"ops": route()}, environ={
        "ALERT_URL": f"json://127.0.0.1:{closed_port.port}/x"}, store=BrokenStore(),
        audit=audit, data_dir=tmp_path, clock=clock)
    router.notify_finding(make_finding(), None)
    router.close(5)
    assert len(JsonlDeadLetters(tmp_path / "alerts" / "dead_letters.jsonl").dead_letters()) == 1
    (rec,) = [r for r in audit.sink.records() if r.category == "alert.dead_letter"]
    assert rec.payload["stored_in"] == "file"


def test_missing_env_var_dead_letters_instead_of_losing(dl_store: Any, make_finding: Any,
                                                        clock: Any, caplog: Any) -> None:
    router = AppriseRouter({"desk": route(url_env=["NOT_SET_ANYWHERE"])}, environ={},
                           store=dl_store, clock=clock)
    assert "environment variable NOT_SET_ANYWHERE is not set" in caplog.text
    router.notify_finding(make_finding(), None)
    router.close(5)
    (dl,) = dl_store.dead_letters()
    assert "no delivery URL: environment variable NOT_SET_ANYWHERE is not set" in dl["error"]


def test_operational_events_from_the_audit_log(http_sink: Any, make_finding: Any,
                                               clock: Any) -> None:
    env = {"ALERT_URL": f"json://127.0.0.1:{http_sink.port}/ops"}
    audit = AuditLog(MemoryAuditSink())
    router = AppriseRouter({"ops": route(categories=["feed.*", "audit.chain_failed"]),
                            "desk": route(url_env="ALERT_URL")},
                           environ=env, audit=audit, clock=clock)
    audit.subscribe(router.notify_record)
    audit.record("feed.gap", {"venue": "hyperliquid", "market_id": "BTC", "gap_s": 12.5}, ts=1)
    audit.record("flow.anomaly", {"category": "spoofing"}, ts=2)  # findings come another way
    audit.record("run.started", {}, ts=3)
    router.close(5)
    (req,) = http_sink.requests
    assert req["body"]["title"] == "[HIGH] feed.gap: - on hyperliquid/BTC"
    assert "gap_s=12.5" in req["body"]["message"]
    assert "audit record seq 1" in req["body"]["message"]


def test_dedupe_escalation_and_digest_end_to_end(http_sink: Any, make_finding: Any,
                                                 clock: Any) -> None:
    env = {"ALERT_URL": f"json://127.0.0.1:{http_sink.port}/desk",
           "PAGER_URL": f"json://127.0.0.1:{http_sink.port}/pager"}
    metrics = Registry()
    router = AppriseRouter({
        "desk": route(dedupe_window_s=600, rate_limit=3, rate_window_s=3600),
        "pager": route(url_env="PAGER_URL", severity_min="critical", escalate_after=3,
                       escalate_window_s=3600),
    }, environ=env, clock=clock, metrics=metrics)
    for i in range(3):  # same actor/market/category: 1 alert + 2 similar
        router.notify_finding(make_finding(ts=clock() + i), None)
        clock.advance(60)
    clock.advance(600)
    router.notify_finding(make_finding(ts=clock()), None)  # carries "+2 similar"
    for i in range(3):  # other actors: one fits the rate limit, two are held back
        router.notify_finding(make_finding(actor=f"other{i}"), None)
    router.close(5)
    desk = [r["body"] for r in http_sink.requests if r["path"] == "/desk"]
    pager = [r["body"] for r in http_sink.requests if r["path"] == "/pager"]
    titles = sorted(b["title"] for b in desk)
    assert len(desk) == 4
    assert any("(+2 similar since 2024-11-21T15:01:00.000000001Z)" in t for t in titles)
    digest = next(b for b in desk if b["title"].startswith("[DIGEST"))
    assert "2 alert(s) held back by the rate limit" in digest["title"]
    assert "(sent at shutdown)" in digest["title"]
    assert "actor other1" in digest["message"] and "actor other2" in digest["message"]
    # the pager saw its third high finding on 0xactor within the hour as critical
    (page,) = pager
    assert page["title"].startswith("ESCALATED [CRITICAL] spoofing: 0xactor")
    assert "Severity: CRITICAL (escalated from high)" in page["message"]
    assert router.counters["desk"].deduped == 2 and router.counters["pager"].escalated == 1
    text = metrics.render()
    assert 'flow_alerts_deduped_total{route="desk"} 2' in text
    assert 'flow_alerts_escalated_total{route="pager"} 1' in text
    assert 'flow_alerts_rate_limited_total{route="desk"} 2' in text
    assert 'flow_alerts_sent_total{route="desk"} 4' in text


@pytest.mark.parametrize("scheme", ["json", "form"])
def test_partial_failure_retries_only_the_failed_target(scheme: str, http_sink: Any,
                                                        closed_port: Any, dl_store: Any,
                                                        make_finding: Any, clock: Any) -> None:
    env = {"ALERT_URL": f"{scheme}://127.0.0.1:{http_sink.port}/ok, "
                        f"{scheme}://127.0.0.1:{closed_port.port}/down"}
    router = AppriseRouter({"two": route(retries=1)}, environ=env, store=dl_store, clock=clock)
    router.notify_finding(make_finding(), None)
    router.close(5)
    assert len(http_sink.requests) == 1  # not re-sent to the target that worked
    (dl,) = dl_store.dead_letters()
    assert dl["payload"]["targets"] == [{"env": "ALERT_URL", "index": 1, "scheme": scheme}]
