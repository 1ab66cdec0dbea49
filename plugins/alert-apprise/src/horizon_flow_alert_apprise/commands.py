"""The logic behind ``flow alerts test|list|retry``, as plain functions over objects.

The typer wiring (:mod:`.cli`) only loads the config and opens the store;
everything here takes routes, an environment and a dead-letter store, so it
is tested without a command line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from horizon_flow_core.findings import AnomalyFinding

from .config import RouteConfig
from .content import Annotations, ReproContext, render
from .delivery import Message, Sender, Target, deliver, resolve_targets
from .items import item_from_finding


@attrs.frozen
class CommandResult:
    ok: bool
    message: str


def synthetic_finding(wall_ns: int) -> AnomalyFinding:
    """The pre-flight check's finding: critical, clearly labelled as a test."""
    return AnomalyFinding.make(
        detector="alerts-test", category="alerts.test", severity="critical", confidence=1.0,
        venue="test", market_id="TEST-MARKET", actor_id="flow-alerts-test",
        message="synthetic critical finding sent by `flow alerts test` (pre-flight check: "
                "alerter routing validated end-to-end); no action needed",
        citation="deployment pre-flight checklist: alert routing validated with a test "
                 "critical finding",
        evidence={"synthetic": True, "wall_ns": int(wall_ns)}, ts=int(wall_ns),
    ).with_identity(seq=0)


def send_test(route: str, routes: Mapping[str, RouteConfig], environ: Mapping[str, str], *,
              repro: ReproContext | None = None, clock: Callable[[], int] = time.time_ns,
              wait: Callable[[float], bool] | None = None) -> CommandResult:
    """Send a synthetic critical finding through ``route``'s real targets and templates.

    Filters, windows and fatigue rules are bypassed (this checks delivery);
    retries follow the route's config."""
    cfg = routes.get(route)
    if cfg is None:
        known = ", ".join(sorted(routes)) or "none configured; pass --config FILE"
        return CommandResult(False, f"no alert route {route!r} (routes: {known})")
    targets, problems = resolve_targets(cfg, environ)
    if not targets:
        return CommandResult(False, f"route {route}: nothing to send to: " + "; ".join(problems))
    now = clock()
    item = item_from_finding(synthetic_finding(now), None)
    title, body, _ = render(item, Annotations(), repro or ReproContext(), route,
                            cfg.title_template, cfg.body_template)
    message = Message(route=route, title=title, body=body, severity="critical", kind="test",
                      category=item.category, finding_id=item.finding_id, ts=now)
    outcome = deliver(Sender(route, targets, problems, cfg.send_timeout_s), message, cfg,
                      wait=wait)
    where = ", ".join(t.label for t in targets)
    if outcome.ok:
        extra = f" (warning: {'; '.join(problems)})" if problems else ""
        return CommandResult(True, f"route {route}: test alert delivered to {where} "
                                   f"after {outcome.attempts} attempt(s){extra}")
    return CommandResult(False, f"route {route}: test alert NOT delivered after "
                                f"{outcome.attempts} attempt(s): {outcome.error}")


def list_routes(routes: Mapping[str, RouteConfig], environ: Mapping[str, str], *,
                dead_store: Any = None, counters: Mapping[str, Mapping[str, int]] | None = None,
                severity_floor: str = "high") -> list[dict[str, Any]]:
    """One row per route: its filters, targets (by variable and scheme), problems and counters."""
    pending: dict[str, int] = {}
    resent: dict[str, int] = {}
    if dead_store is not None:
        for dl in dead_store.dead_letters(None, include_resent=True):
            bucket = resent if dl.get("resent_wall_ns") else pending
            bucket[dl["route"]] = bucket.get(dl["route"], 0) + 1
    rows = []
    for name in sorted(routes):
        cfg = routes[name]
        targets, problems = resolve_targets(cfg, environ)
        saved = dict((counters or {}).get(name, {}))
        rows.append({
            "route": name,
            "enabled": cfg.enabled,
            "targets": [t.label for t in targets],
            "problems": problems + [p for p in cfg.problems() if p not in problems],
            "categories": list(cfg.categories) or ["(all findings)"],
            "severity_min": cfg.severity_min,
            "severity_floor": severity_floor,
            "confidence_min": cfg.confidence_min,
            "venues": list(cfg.venues),
            "markets": list(cfg.markets),
            "windows": list(cfg.windows),
            "weekdays": list(cfg.weekdays),
            "timezone": cfg.timezone,
            "dedupe_window_s": cfg.dedupe_window_s,
            "rate_limit": f"{cfg.rate_limit}/{cfg.rate_window_s:g}s" if cfg.rate_limit
            else "unlimited",
            "escalate": (f"{cfg.escalate_after} x {cfg.escalate_severity} in "
                         f"{cfg.escalate_window_s:g}s" if cfg.escalate_after else "off"),
            "sent": int(saved.get("sent", 0)),
            "failed": int(saved.get("failed", 0)),
            "deduped": int(saved.get("deduped", 0)),
            "rate_limited": int(saved.get("rate_limited", 0)),
            "escalated": int(saved.get("escalated", 0)),
            "dead_letters_pending": pending.get(name, 0),
            "dead_letters_resent": resent.get(name, 0),
        })
    # dead letters of routes no longer in the config are still worth seeing
    for name in sorted(set(pending) | set(resent)):
        if name not in routes:
            rows.append({"route": name, "enabled": False, "targets": [],
                         "problems": ["not in the config any more"],
                         "dead_letters_pending": pending.get(name, 0),
                         "dead_letters_resent": resent.get(name, 0)})
    return rows


def format_routes_table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "no alert routes configured ([alerts.routes.<name>])"
    cols = ("route", "enabled", "targets", "sent", "failed", "deduped", "dead_letters_pending",
            "dead_letters_resent")
    heads = ("ROUTE", "ON", "TARGETS", "SENT", "FAILED", "DEDUPED", "DEAD", "RESENT")
    table: list[tuple[str, ...]] = [heads]
    for r in rows:
        table.append(tuple(_cell(r.get(c, "")) for c in cols))
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
             for row in table]
    for r in rows:
        for p in r.get("problems", []):
            lines.append(f"! {r['route']}: {p}")
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return ", ".join(str(x) for x in v) or "-"
    return str(v)


@attrs.frozen
class RetryReport:
    resent: tuple[int, ...] = ()
    failed: tuple[tuple[int, str], ...] = ()
    skipped: tuple[tuple[int, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    def summary(self) -> str:
        lines = [f"resent {len(self.resent)}, failed {len(self.failed)}, "
                 f"skipped {len(self.skipped)}"]
        lines += [f"  #{i} failed: {e}" for i, e in self.failed]
        lines += [f"  #{i} skipped: {e}" for i, e in self.skipped]
        return "\n".join(lines)


def retry_dead_letters(dead_store: Any, routes: Mapping[str, RouteConfig],
                       environ: Mapping[str, str], *, route: str | None = None,
                       clock: Callable[[], int] = time.time_ns,
                       wait: Callable[[float], bool] | None = None) -> RetryReport:
    """Resend every dead letter not yet resent (of ``route``, or all), oldest first.

    Each goes to the targets that failed (matched by variable and position)
    when those still exist, else to all of the route's current targets, with the
    route's retries; success marks it resent. Failures stay for the next retry."""
    resent: list[int] = []
    failed: list[tuple[int, str]] = []
    skipped: list[tuple[int, str]] = []
    senders: dict[str, tuple[Sender, RouteConfig]] = {}
    for dl in sorted(dead_store.dead_letters(route), key=lambda d: int(d["id"])):
        dl_id = int(dl["id"])
        name = str(dl["route"])
        cfg = routes.get(name)
        if cfg is None:
            skipped.append((dl_id, f"route {name!r} is not in the config"))
            continue
        if name not in senders:
            targets, problems = resolve_targets(cfg, environ)
            senders[name] = (Sender(name, targets, problems, cfg.send_timeout_s), cfg)
        sender, cfg = senders[name]
        payload = dl.get("payload") or {}
        message = Message.from_payload(name, payload)
        only = _matching_targets(sender.targets, payload.get("targets") or [])
        outcome = deliver(sender, message, cfg, only=only, wait=wait)
        if outcome.ok:
            dead_store.mark_dead_letter_resent(dl_id, clock())
            resent.append(dl_id)
        else:
            failed.append((dl_id, outcome.error))
            note = getattr(dead_store, "record_dead_letter_attempt", None)
            if callable(note):  # the SQLite store counts attempts and keeps the last error
                note(dl_id, outcome.error, clock())
    return RetryReport(tuple(resent), tuple(failed), tuple(skipped))


def _matching_targets(targets: Sequence[Target], wanted: Sequence[Mapping[str, Any]]
                      ) -> list[Target] | None:
    keys = {(str(w.get("env")), int(w.get("index", 0))) for w in wanted if isinstance(w, Mapping)}
    match = [t for t in targets if (t.env, t.index) in keys]
    return match or None
