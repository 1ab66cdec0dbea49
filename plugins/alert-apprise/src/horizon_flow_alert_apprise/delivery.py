"""Sending through apprise: targets from environment variables, retries with backoff.

A route's targets are the URLs in the environment variables its ``url_env``
names, one apprise object per URL, so a retry goes only to the targets that
failed and a dead letter can say which ones those were (by variable name,
position and scheme, never by URL). apprise is imported on first send, in the
delivery worker, to keep ``flow --help`` and engine start-up fast.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .config import RouteConfig
from .redact import redact, register_secret_url, split_urls, url_scheme

log = logging.getLogger("horizon_flow.alerts")

NOTIFY_TYPE = {"critical": "failure", "high": "failure", "medium": "warning", "low": "info"}
MAX_ERROR_CHARS = 500


@attrs.frozen
class Target:
    env: str
    index: int
    scheme: str
    url: str = attrs.field(repr=False)  # the secret: never printed, never stored

    @property
    def label(self) -> str:
        return f"{self.env}[{self.index}] ({self.scheme}://)"

    def describe(self) -> dict[str, Any]:
        return {"env": self.env, "index": self.index, "scheme": self.scheme}


def resolve_targets(config: RouteConfig, environ: Mapping[str, str]
                    ) -> tuple[list[Target], list[str]]:
    """The route's targets, and the problems that leave some out (unset variables)."""
    targets: list[Target] = []
    problems: list[str] = []
    for env in config.url_env:
        raw = environ.get(env)
        if raw is None or not raw.strip():
            problems.append(f"environment variable {env} is not set")
            continue
        for i, url in enumerate(split_urls(raw)):
            register_secret_url(url)
            targets.append(Target(env=env, index=i, scheme=url_scheme(url), url=url))
    if not config.url_env:
        problems.append("url_env is empty")
    return targets, problems


@attrs.frozen
class Message:
    """A rendered alert or digest: what is sent, and what a dead letter keeps."""

    route: str
    title: str
    body: str
    severity: str
    kind: str  # alert | digest | test
    category: str = ""
    finding_id: str = ""
    ts: int = 0

    @property
    def notify_type(self) -> str:
        return NOTIFY_TYPE.get(self.severity, "info")

    def payload(self, targets: Sequence[Target] = (), attempts: int = 0) -> dict[str, Any]:
        return {
            "route": self.route, "kind": self.kind, "title": redact(self.title),
            "body": redact(self.body), "severity": self.severity, "category": self.category,
            "finding_id": self.finding_id, "ts": self.ts, "notify_type": self.notify_type,
            "targets": [t.describe() for t in targets], "attempts": attempts,
        }

    @classmethod
    def from_payload(cls, route: str, payload: Mapping[str, Any]) -> Message:
        return cls(route=route, title=str(payload.get("title", "")),
                   body=str(payload.get("body", "")),
                   severity=str(payload.get("severity", "high")),
                   kind=str(payload.get("kind", "alert")),
                   category=str(payload.get("category", "")),
                   finding_id=str(payload.get("finding_id", "")),
                   ts=int(payload.get("ts", 0) or 0))


@attrs.frozen
class SendResult:
    ok: bool
    failed: tuple[Target, ...] = ()
    error: str = ""


class Sender:
    """Delivers messages to a route's targets; one apprise object per target URL."""

    def __init__(self, route: str, targets: Sequence[Target], problems: Sequence[str] = (),
                 timeout_s: float = 30.0) -> None:
        self.route = route
        self.targets = tuple(targets)
        self.problems = tuple(problems)
        self.timeout_s = timeout_s
        self._apprise: dict[tuple[str, int], Any] = {}

    def _client(self, target: Target) -> tuple[Any, str | None]:
        key = (target.env, target.index)
        if key in self._apprise:
            return self._apprise[key], None
        import apprise

        client = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
        if not client.add(target.url):
            return None, (f"{target.label}: apprise cannot load this URL "
                          "(unknown scheme or malformed)")
        self._apprise[key] = client
        return client, None

    def send(self, message: Message, only: Sequence[Target] | None = None) -> SendResult:
        targets = tuple(only) if only else self.targets
        if not targets:
            why = "; ".join(self.problems) or "no targets"
            return SendResult(ok=False, error=f"route {self.route} has no delivery URL: {why}")
        failed: list[Target] = []
        errors: list[str] = []
        for target in targets:
            err = self._send_one(target, message)
            if err is not None:
                failed.append(target)
                errors.append(err)
        error = redact("; ".join(errors))[:MAX_ERROR_CHARS]
        return SendResult(ok=not failed, failed=tuple(failed), error=error)

    def _send_one(self, target: Target, message: Message) -> str | None:
        try:
            client, problem = self._client(target)
            if problem:
                return problem
            result = client.notify(body=message.body, title=message.title,
                                   notify_type=message.notify_type,
                                   timeout=self.timeout_s)
        except Exception as e:  # apprise or a plugin raised: report, never propagate
            return f"{target.label}: {type(e).__name__}: {redact(str(e))}"
        if bool(result):
            return None
        return f"{target.label}: {_apprise_error(result)}"


def _apprise_error(result: Any) -> str:
    """The warnings apprise recorded for a failed notify (redacted), or its status."""
    messages: list[str] = []
    logs = getattr(result, "logs", None)
    if callable(logs):
        try:
            for entry in logs():
                if str(getattr(entry, "level", "")).upper() in ("WARNING", "ERROR", "CRITICAL"):
                    msg = redact(str(getattr(entry, "message", entry)))
                    if msg not in messages:
                        messages.append(msg)
        except Exception:  # older apprise: no structured logs
            messages = []
    if messages:
        return " / ".join(messages)
    status = getattr(result, "status", None)
    name = getattr(status, "name", None) or "failed"
    return f"apprise reported {name}"


def backoff_delay(config: RouteConfig, attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): backoff_s * 2**(attempt-1), capped."""
    return float(min(config.backoff_s * (2 ** (attempt - 1)), config.backoff_max_s))


@attrs.frozen
class Outcome:
    ok: bool
    attempts: int
    error: str = ""
    failed: tuple[Target, ...] = ()
    gave_up_early: bool = False


def deliver(sender: Sender, message: Message, config: RouteConfig,
            only: Sequence[Target] | None = None,
            wait: Callable[[float], bool] | None = None) -> Outcome:
    """Send with retries and exponential backoff. ``wait(seconds)`` sleeps and returns
    False to give up instead (the worker's shutdown deadline); default sleeps."""
    pending = tuple(only) if only else None
    attempts = 0
    error = ""
    for attempt in range(1 + config.retries):
        if attempt:
            delay = backoff_delay(config, attempt)
            if wait is None:
                time.sleep(delay)
            elif not wait(delay):
                return Outcome(ok=False, attempts=attempts,
                               error=f"{error}; gave up at shutdown",
                               failed=pending or sender.targets, gave_up_early=True)
        attempts += 1
        result = sender.send(message, pending)
        if result.ok:
            return Outcome(ok=True, attempts=attempts)
        error = result.error
        pending = result.failed or pending
        log.warning("alert route %s: attempt %d of %d failed: %s", sender.route, attempts,
                    1 + config.retries, error)
    return Outcome(ok=False, attempts=attempts, error=error,
                   failed=pending or sender.targets)
