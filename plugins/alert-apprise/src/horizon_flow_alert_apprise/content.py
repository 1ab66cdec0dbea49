"""The words of an alert: title and body from the route's templates.

Every alert explains itself: what was seen, the evidence numbers, the
citation, the actor's taxonomy class, and the ``flow`` commands that reproduce
the finding from the recorded feed and config. Templates are ``str.format``
strings over :data:`TEMPLATE_FIELDS`; the default body is ``{explanation}``,
the full explanation below.

The reproduce command names the feed log and config the runtime was started
with when it knows them, else the placeholders ``<feed-log>`` and
``<config>`` (a daemon writes one feed log per day under
``<data-dir>/feeds/``; the operator fills in the day's file).
"""

from __future__ import annotations

import shlex
import string
from datetime import UTC, datetime
from typing import Any

import attrs
import orjson

from .items import FINDING, AlertItem

DEFAULT_TITLE = "[{SEVERITY}] {category}: {actor} on {venue}/{market_id}{similar}"
DEFAULT_BODY = "{explanation}"
FEED_PLACEHOLDER = "<feed-log>"
CONFIG_PLACEHOLDER = "<config>"
REPLAY_STORE = "/tmp/replay.db"
MAX_EVIDENCE_KEYS = 16


@attrs.frozen
class Annotations:
    """What a route adds to an item: similar ones folded in, escalation."""

    similar_count: int = 0
    similar_since_ns: int | None = None
    escalated_from: str | None = None
    escalation_note: str | None = None


@attrs.frozen
class ReproContext:
    """Where the inputs of a reproduction live (placeholders when unknown)."""

    feed_log: str = FEED_PLACEHOLDER
    config_path: str = CONFIG_PLACEHOLDER
    replay_store: str = REPLAY_STORE
    audit_db: str = "<audit-db>"


def format_ts(ns: int) -> str:
    """Integer ns -> ``2024-11-21T00:00:00.123456789Z`` (UTC, full precision)."""
    secs, frac = divmod(int(ns), 1_000_000_000)
    return datetime.fromtimestamp(secs, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v).lower() if v is not None else "null"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, int | str):
        return str(v)
    return orjson.dumps(v, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
                        default=str).decode()


def format_evidence(evidence: dict[str, Any]) -> str:
    """``key=value`` pairs sorted by key, numbers to 6 significant digits."""
    if not evidence:
        return "(none)"
    keys = sorted(evidence, key=str)
    parts = [f"{k}={_num(evidence[k])}" for k in keys[:MAX_EVIDENCE_KEYS]]
    if len(keys) > MAX_EVIDENCE_KEYS:
        parts.append(f"... ({len(keys) - MAX_EVIDENCE_KEYS} more)")
    return ", ".join(parts)


def reproduce_commands(item: AlertItem, repro: ReproContext) -> list[str]:
    """The shell commands that reproduce the item (one per line)."""
    q = shlex.quote
    if item.kind != FINDING:
        if item.category == "audit.chain_failed":
            return [f"flow audit verify --db {q(repro.audit_db)}"]
        return [f"flow audit verify --db {q(repro.audit_db)}"
                + (f"  # audit record seq {item.audit_seq}" if item.audit_seq else "")]
    replay = (f"flow replay --feed-log {q(repro.feed_log)} --config {q(repro.config_path)} "
              f"--store {q(repro.replay_store)}")
    query = [f"flow anomalies --db {q(repro.replay_store)}"]
    if item.actor_id:
        query.append(f"--actor {q(item.actor_id)}")
    query.append(f"--market {q(item.market_id)}")
    query.append(f"--category {q(item.category)}")
    query.append(f"--since {q(format_ts(item.ts))}")
    return [replay, " ".join(query)]


def _similar_text(a: Annotations) -> str:
    if not a.similar_count:
        return ""
    since = format_ts(a.similar_since_ns) if a.similar_since_ns is not None else "?"
    return f" (+{a.similar_count} similar since {since})"


def explanation(item: AlertItem, a: Annotations, repro: ReproContext, route: str) -> str:
    lines = [f"What: {item.message or item.category}"]
    sev = item.severity.upper()
    if a.escalated_from:
        sev += f" (escalated from {a.escalated_from})"
    lines.append(f"Severity: {sev}, confidence {item.confidence:.2f}, category {item.category}"
                 + (f", detector {item.detector}" if item.detector else ""))
    where = f"{item.venue or '-'} / {item.market_id or '-'} at {format_ts(item.ts)}"
    if item.seq:
        where += f" (ingest seq {item.seq})"
    lines.append(f"Where: {where}")
    if item.kind == FINDING:
        actor = item.actor_id or "(anonymous)"
        if item.taxonomy_class is not None:
            lines.append(f"Actor: {actor}, taxonomy {item.taxonomy_class} "
                         f"(p={item.taxonomy_prob or 0.0:.2f})")
        else:
            lines.append(f"Actor: {actor}, taxonomy not yet profiled")
    lines.append(f"Evidence: {format_evidence(item.evidence)}")
    lines.append(f"Citation: {item.citation or '(none)'}")
    if item.finding_id:
        lines.append(f"Finding id: {item.finding_id}")
    if a.escalation_note:
        lines.append(f"Escalation: {a.escalation_note}")
    if a.similar_count:
        lines.append(f"Similar:{_similar_text(a)} suppressed by deduplication")
    lines.append("Reproduce:")
    lines.extend(f"  {c}" for c in reproduce_commands(item, repro))
    lines.append(f"Route: {route}")
    return "\n".join(lines)


def template_fields(item: AlertItem, a: Annotations, repro: ReproContext, route: str
                    ) -> dict[str, Any]:
    """Everything a title or body template may name."""
    return {
        "id": item.finding_id,
        "finding_id": item.finding_id,
        "kind": item.kind,
        "detector": item.detector,
        "category": item.category,
        "severity": item.severity,
        "SEVERITY": item.severity.upper(),
        "confidence": item.confidence,
        "confidence_pct": f"{item.confidence * 100:.0f}%",
        "venue": item.venue,
        "market_id": item.market_id,
        "actor_id": item.actor_id or "",
        "actor": item.actor_id or "-",
        "ts": item.ts,
        "time_utc": format_ts(item.ts),
        "seq": item.seq,
        "message": item.message,
        "citation": item.citation,
        "evidence": dict(item.evidence),
        "evidence_text": format_evidence(item.evidence),
        "evidence_json": orjson.dumps(item.evidence, option=orjson.OPT_SORT_KEYS,
                                      default=str).decode(),
        "taxonomy_class": item.taxonomy_class or "unprofiled",
        "taxonomy_prob": item.taxonomy_prob if item.taxonomy_prob is not None else 0.0,
        "reproduce": "\n".join(reproduce_commands(item, repro)),
        "similar": _similar_text(a),
        "similar_count": a.similar_count,
        "escalated": "ESCALATED " if a.escalated_from else "",
        "escalation": a.escalation_note or "",
        "route": route,
        "explanation": explanation(item, a, repro, route),
    }


SAMPLE_ITEM = AlertItem(
    kind=FINDING, category="spoofing", severity="high", confidence=0.9, venue="polymarket",
    market_id="0xmarket", actor_id="0xactor", ts=1_700_000_000_000_000_000,
    message="sample", citation="sample", evidence={"size": 1.0}, detector="spoofing",
    finding_id="0" * 32, seq=1, taxonomy_class="high_frequency", taxonomy_prob=0.5,
)

#: Names a template may use.
TEMPLATE_FIELDS: frozenset[str] = frozenset(
    template_fields(SAMPLE_ITEM, Annotations(), ReproContext(), "r"))


def check_template(template: str) -> None:
    """ValueError naming the first unknown placeholder or malformed format spec."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:
        raise ValueError(f"template is not a valid format string: {e}") from None
    for _, field, _, _ in parsed:
        if field is None:
            continue
        root = field.split(".", 1)[0].split("[", 1)[0]
        if root == "" or root.isdigit():
            raise ValueError("template placeholders must be named, e.g. {category}; "
                             "positional {} is not allowed")
        if root not in TEMPLATE_FIELDS:
            raise ValueError(f"template names unknown field {{{root}}}; known fields: "
                             + ", ".join(sorted(TEMPLATE_FIELDS)))
        if "[" in field and root != "evidence":
            raise ValueError(f"template placeholder {{{field}}}: only evidence[...] may be indexed")
    fields = template_fields(SAMPLE_ITEM, Annotations(), ReproContext(), "r")
    fields["evidence"] = _AnyEvidence()
    try:
        template.format_map(fields)
    except (ValueError, TypeError, AttributeError) as e:
        raise ValueError(f"template cannot be rendered: {e}") from None


class _AnyEvidence(dict[str, Any]):
    """At load time any evidence key is acceptable; the finding decides at run time."""

    def __missing__(self, key: str) -> float:
        return 0.0


def render(item: AlertItem, a: Annotations, repro: ReproContext, route: str,
           title_template: str, body_template: str) -> tuple[str, str, str | None]:
    """``(title, body, problem)``. A template that fails on this item (an evidence key
    the finding lacks) falls back to the default template, so no alert is lost;
    ``problem`` says why."""
    fields = template_fields(item, a, repro, route)
    problem = None
    try:
        title = title_template.format_map(fields)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as e:
        problem = f"title template failed ({type(e).__name__}: {e}); default used"
        title = DEFAULT_TITLE.format_map(fields)
    try:
        body = body_template.format_map(fields)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as e:
        problem = f"body template failed ({type(e).__name__}: {e}); default used"
        body = DEFAULT_BODY.format_map(fields)
    if problem:
        body = f"{body}\n(note: {problem})"
    if a.escalated_from and not title.startswith("ESCALATED"):
        title = "ESCALATED " + title
    return title, body, problem


def render_digest(route: str, reason: str, since_ns: int, total: int, max_severity: str,
                  counts: tuple[tuple[str, str, int], ...],
                  examples: list[tuple[AlertItem, Annotations]],
                  similar: tuple[tuple[tuple[str, str, str, str], int, int], ...]
                  ) -> tuple[str, str]:
    """Title and body of a digest: alerts held back or overflowed, told in one message.

    ``reason`` is ``"rate limit"`` (sent when the window reopened),
    ``"shutdown"`` (sent at close, with the similar counts not yet told) or
    ``"queue full"`` (alerts that found the delivery queue full)."""
    at_close = " (sent at shutdown)" if reason == "shutdown" else ""
    cause = ("overflowed the delivery queue" if reason == "queue full"
             else "held back by the rate limit")
    if total:
        title = (f"[DIGEST {max_severity.upper()}] {route}: {total} alert(s) {cause} "
                 f"since {format_ts(since_ns)}{at_close}")
    else:
        title = f"[DIGEST] {route}: similar findings not yet reported{at_close}"
    lines = []
    if total:
        lines.append(f"{total} alert(s) {cause} since {format_ts(since_ns)}{at_close}.")
        lines.append("By category and severity:")
        lines.extend(f"  {cat} {sev}: {n}" for cat, sev, n in counts)
        lines.append(f"First {len(examples)}:")
        for item, ann in examples:
            extra = f" (+{ann.similar_count} similar)" if ann.similar_count else ""
            esc = f" escalated from {ann.escalated_from}" if ann.escalated_from else ""
            lines.append(f"  - {format_ts(item.ts)} {item.summary_line()}{extra}{esc}")
            if item.message:
                lines.append(f"    {item.message}")
        if total > len(examples):
            lines.append(f"  ... and {total - len(examples)} more")
    if similar:
        lines.append("Similar findings suppressed by deduplication and not yet reported:")
        for (venue, actor, market, category), n, since in similar:
            lines.append(f"  {category} {venue}/{market} actor {actor or '-'}: +{n} since "
                         f"{format_ts(since)}")
    earliest = min([since_ns] + [it.ts for it, _ in examples] + [s for _, _, s in similar])
    lines.append(f"Query them: flow anomalies --db <flow-db> --since "
                 f"{shlex.quote(format_ts(earliest))}")
    lines.append(f"Route: {route}")
    return title, "\n".join(lines)
