"""Secrets in apprise URLs never reach logs (ours, apprise's, urllib3's), dead letters,
audit payloads or the store file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
from aiosmtpd.smtp import AuthResult
from horizon_flow_alert_apprise.commands import list_routes, send_test
from horizon_flow_alert_apprise.config import RouteConfig
from horizon_flow_alert_apprise.redact import (
    REDACTED,
    RedactingFilter,
    install_log_redaction,
    redact,
    register_secret_url,
)
from horizon_flow_alert_apprise.router import AppriseRouter

from horizon_flow_core.audit.chain import AuditLog, MemoryAuditSink

PASSWORD = "S3cretPassw0rd"
TOKEN = "T0KENabcdef123"
FAST = {"retries": 1, "backoff_s": 0.01, "dedupe_window_s": 0, "rate_limit": 0,
        "escalate_after": 0, "send_timeout_s": 5}


def _all_log_text(caplog: Any) -> str:
    return "\n".join([caplog.text] + [r.getMessage() for r in caplog.records])


def test_secrets_stay_out_of_logs_dead_letters_audit_and_store(
        caplog: Any, http_sink: Any, closed_port: Any, dl_store: Any, make_finding: Any,
        clock: Any, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)  # apprise and urllib3 print URLs at DEBUG
    env = {"OK_URL": f"json://alertuser:{PASSWORD}@127.0.0.1:{http_sink.port}/hooks/{TOKEN}",
           "DOWN_URL": f"json://alertuser:{PASSWORD}@127.0.0.1:{closed_port.port}/x/{TOKEN}"}
    audit = AuditLog(MemoryAuditSink())
    router = AppriseRouter({"ok": RouteConfig(url_env="OK_URL", **FAST),
                            "down": RouteConfig(url_env="DOWN_URL", **FAST)},
                           environ=env, store=dl_store, audit=audit, clock=clock)
    router.notify_finding(make_finding(), None)
    router.close(5)
    audit.flush()

    assert len(http_sink.requests) == 1 and http_sink.requests[0]["path"] == f"/hooks/{TOKEN}"
    text = _all_log_text(caplog)
    # apprise and urllib3 did try to print them: the filter replaced them
    assert REDACTED in text
    assert "POST" in text  # urllib3's request line was logged, redacted
    for secret in (PASSWORD, TOKEN, env["OK_URL"], env["DOWN_URL"]):
        assert secret not in text
        assert secret not in orjson.dumps(dl_store.dead_letters()).decode()
        assert secret not in orjson.dumps([r.to_dict() for r in audit.sink.records()]).decode()
    assert len(dl_store.dead_letters()) == 1
    dl_store.close()
    files = sorted(tmp_path.glob("flow.db*"))
    assert files
    for f in files:
        raw = f.read_bytes()
        assert PASSWORD.encode() not in raw and TOKEN.encode() not in raw
    # what we do print about a target: variable, position, scheme
    assert "DOWN_URL[0] (json://)" in text


def test_smtp_password_is_used_for_login_but_never_logged(caplog: Any, make_finding: Any,
                                                          clock: Any) -> None:
    from aiosmtpd.controller import Controller

    seen: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == PASSWORD.encode())

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.content)
            return "250 OK"

    class PortZero(Controller):
        def _trigger_server(self) -> None:
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    ctl = PortZero(Handler(), hostname="127.0.0.1", port=0, authenticator=authenticator,
                   auth_require_tls=False)
    ctl.start()
    try:
        caplog.set_level(logging.DEBUG)
        url = (f"mailto://flowbot:{PASSWORD}@127.0.0.1:{ctl.port}?smtp=127.0.0.1"
               "&mode=insecure&from=flow@example.com&to=desk@example.com")
        result = send_test("email", {"email": RouteConfig(url_env="MAIL_URL", **FAST)},
                           {"MAIL_URL": url}, clock=clock)
        assert result.ok, result.message
    finally:
        ctl.stop()
    assert seen and seen[0] == (b"flowbot", PASSWORD.encode())
    assert len(received) == 1 and b"alerts.test" in received[0]
    assert PASSWORD not in _all_log_text(caplog) and PASSWORD not in result.message


def test_filter_on_the_apprise_logger_redacts_messages_args_and_tracebacks(caplog: Any) -> None:
    install_log_redaction()
    url = f"slack://{TOKEN}/B0000ZZZZ/abcdefghijkl1234"
    register_secret_url(url)
    caplog.set_level(logging.DEBUG, logger="apprise")
    alog = logging.getLogger("apprise")
    alog.warning("Loaded URL: %s", url)
    alog.warning("token alone: %s and path %s", TOKEN, "abcdefghijkl1234")
    try:
        raise RuntimeError(f"failed posting to https://hooks.slack.com/services/{TOKEN}")
    except RuntimeError:
        alog.exception("send failed")
    text = caplog.text
    assert TOKEN not in text and "abcdefghijkl1234" not in text
    assert "Loaded URL: slack://<redacted>" in text
    assert "token alone: <redacted> and path <redacted>" in text
    assert "failed posting to https://<redacted>" in text
    # the same record without the filter would have shown it: the test can fail
    rec = logging.LogRecord("apprise", logging.WARNING, __file__, 1, "Loaded URL: %s", (url,),
                            None)
    assert TOKEN in rec.getMessage()
    RedactingFilter().filter(rec)
    assert TOKEN not in rec.getMessage()


def test_redact_keeps_ordinary_text_and_short_words() -> None:
    register_secret_url("json://127.0.0.1:9/hook")
    assert redact("hook fired on 127.0.0.1 in route desk") == \
        "hook fired on 127.0.0.1 in route desk"
    assert redact("") == ""


def test_route_listing_shows_variables_and_schemes_only() -> None:
    rows = list_routes({"pager": RouteConfig(url_env=["PD_URL", "MISSING_URL"])},
                       {"PD_URL": f"pagerduty://{TOKEN}@{PASSWORD}/"})
    (row,) = rows
    assert row["targets"] == ["PD_URL[0] (pagerduty://)"]
    assert row["problems"] == ["environment variable MISSING_URL is not set"]
    assert TOKEN not in orjson.dumps(rows).decode()
    assert PASSWORD not in orjson.dumps(rows).decode()


def test_query_tokens_are_secret_but_options_are_not() -> None:
    register_secret_url("pover://u@h?token=qq99tokenvalue&mode=insecure&priority=high")
    assert redact("sent with qq99tokenvalue in mode insecure") == \
        "sent with <redacted> in mode insecure"
