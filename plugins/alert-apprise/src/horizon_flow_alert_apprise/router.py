"""``AppriseRouter``: the :class:`~horizon_flow_core.components.AlertSink` of this plugin.

Built once by the engine from ``[alerts.routes.*]`` (:meth:`from_runtime`);
``notify_finding`` / ``notify_record`` run each route's policy on the
engine's thread and queue what passes; delivery happens on one worker thread
per route. Dead letters come back to the engine's thread and are written on
the next call (or at ``close``): to the store's dead-letter table (or the
JSONL fallback), as an ``alert.dead_letter`` audit event, and to the metrics.
No method here raises into the engine; problems are logged (redacted) and
counted.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from horizon_flow_core.findings import AnomalyFinding
from horizon_flow_core.profiles import ActorProfile

from .config import RouteConfig, route_configs
from .content import CONFIG_PLACEHOLDER, FEED_PLACEHOLDER, ReproContext, render, render_digest
from .deadletters import DEAD_LETTER_FILE, JsonlDeadLetters, supports_dead_letters
from .delivery import Message, Sender, resolve_targets
from .items import AlertItem, item_from_finding, item_from_record
from .policy import (
    BELOW_SEVERITY,
    DEDUPED,
    DROPPED,
    FILTERED,
    OUTSIDE_WINDOW,
    RATE_LIMITED,
    Alert,
    Digest,
    HeldBack,
    Outgoing,
    RoutePolicy,
)
from .redact import install_log_redaction, redact
from .worker import DeadLetter, RouteCounters, RouteWorker

log = logging.getLogger("horizon_flow.alerts")

DEAD_LETTER_CATEGORY = "alert.dead_letter"
COUNTERS_FILE = Path("alerts") / "counters.json"


class AppriseRouter:
    """Routes findings and operational events to apprise targets. See the module docstring."""

    name = "apprise"

    def __init__(self, routes: Mapping[str, RouteConfig], *, severity_floor: str = "high",
                 environ: Mapping[str, str] | None = None, store: Any = None, audit: Any = None,
                 metrics: Any = None, data_dir: str | Path | None = None,
                 clock: Callable[[], int] = time.time_ns, repro: ReproContext | None = None,
                 idle_s: float = 1.0) -> None:
        install_log_redaction()
        self.clock = clock
        self.store = store
        self.audit = audit
        self.metrics = metrics
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.repro = repro or ReproContext()
        self.severity_floor = str(severity_floor).lower()
        self._dead: queue.SimpleQueue[DeadLetter] = queue.SimpleQueue()
        self._dead_store: JsonlDeadLetters | None = None
        self._draining = False
        self._closed = False
        self._audited = 0  # dead-letter audit events written
        self._caller_lock = threading.RLock()
        env = os.environ if environ is None else environ
        self.policies: dict[str, RoutePolicy] = {}
        self.counters: dict[str, RouteCounters] = {}
        self.workers: dict[str, RouteWorker] = {}
        # alerts that found the queue full: one digest once it has room (O(1) on ingest)
        self._overflow: dict[str, HeldBack] = {}
        self._overflow_pending: dict[str, list[Outgoing]] = {}
        for name in sorted(routes):
            cfg = routes[name]
            policy = RoutePolicy(name, cfg, self.severity_floor)
            targets, problems = resolve_targets(cfg, env)
            for problem in problems + cfg.problems():
                log.error("alert route %s: %s; its alerts will be dead-lettered until fixed",
                          name, problem)
            sender = Sender(name, targets, problems, timeout_s=cfg.send_timeout_s)
            counters = RouteCounters()
            self.policies[name] = policy
            self.counters[name] = counters
            self._overflow[name] = HeldBack(cfg.digest_max_items)
            self._overflow_pending[name] = []
            self.workers[name] = RouteWorker(
                name, cfg, policy, sender, self._renderer(name, cfg), self._dead, counters,
                clock, self._count_result, idle_s=idle_s)
            log.info("alert route %s: %d target(s) [%s]", name, len(targets),
                     ", ".join(t.label for t in targets))

    # ------------------------------------------------------------------ building

    @classmethod
    def from_runtime(cls, runtime: Any) -> AppriseRouter | None:
        """The router for ``runtime.config``'s routes, or None when there are none."""
        config = getattr(runtime, "config", None)
        routes = route_configs(config_section(config, "alerts.routes"))
        if not routes:
            return None
        alerts = getattr(config, "alerts", None)
        floor = getattr(alerts, "severity_floor", None) or "high"
        return cls(routes, severity_floor=str(floor), store=getattr(runtime, "store", None),
                   audit=getattr(runtime, "audit", None),
                   metrics=getattr(runtime, "metrics", None),
                   data_dir=getattr(runtime, "data_dir", None),
                   clock=getattr(runtime, "clock", None) or time.time_ns,
                   repro=repro_from_runtime(runtime))

    def _renderer(self, route: str, cfg: RouteConfig) -> Callable[[Outgoing], Message]:
        def render_outgoing(outgoing: Outgoing) -> Message:
            if isinstance(outgoing, Digest):
                title, body = render_digest(
                    route, outgoing.reason, outgoing.since_ns, outgoing.total,
                    outgoing.max_severity, outgoing.counts,
                    [(a.item, a.annotations) for a in outgoing.examples], outgoing.similar)
                return Message(route=route, title=title, body=body,
                               severity=outgoing.max_severity, kind="digest",
                               category="digest", ts=outgoing.since_ns)
            item = outgoing.item
            title, body, problem = render(item, outgoing.annotations, self.repro, route,
                                          cfg.title_template, cfg.body_template)
            if problem:
                log.warning("alert route %s: %s", route, problem)
            return Message(route=route, title=title, body=body, severity=item.severity,
                           kind="alert", category=item.category, finding_id=item.finding_id,
                           ts=item.ts)
        return render_outgoing

    # ------------------------------------------------------------------ AlertSink

    def notify_finding(self, finding: AnomalyFinding, profile: ActorProfile | None) -> None:
        try:
            item = item_from_finding(finding, profile)
        except Exception:
            log.exception("alert router: cannot read finding %s", getattr(finding, "id", "?"))
            return
        self._route(item)

    def notify_record(self, record: Any) -> None:
        if str(getattr(record, "category", "")) == DEAD_LETTER_CATEGORY:
            return  # our own dead-letter events: routing them could loop
        try:
            item = item_from_record(record)
        except Exception:
            log.exception("alert router: cannot read audit record")
            return
        if item is None:
            return
        self._route(item)

    def tick(self) -> None:
        """Release digests whose rate window reopened and write pending dead letters.

        The workers tick by themselves when idle; tests and the engine may call this."""
        with self._caller_lock:
            now = self.clock()
            for name, policy in self.policies.items():
                self._release_overflow(name)
                for outgoing in policy.tick(now):
                    self._submit(name, outgoing)
            self._drain_dead()

    def close(self, timeout_s: float = 5.0) -> None:
        """Drain every route within ``timeout_s``; dead-letter what is left. Idempotent."""
        with self._caller_lock:
            if self._closed:
                return
            self._closed = True
            audited_before = self._audited
            deadline = time.monotonic() + max(0.0, timeout_s)
            now = self.clock()
            for name, policy in self.policies.items():
                for outgoing in policy.close_flush(now):
                    self._submit(name, outgoing)
            for name, worker in self.workers.items():
                # at shutdown a full queue may be waited for, up to the deadline
                if not self._release_overflow(name, timeout=deadline - time.monotonic()):
                    waiting = self._overflow_pending[name]
                    if self._overflow[name].total:
                        waiting.append(self._overflow[name].take("queue full", now))
                    for outgoing in waiting:
                        self._dead.put(DeadLetter(name, worker.render(outgoing),
                                                  "delivery queue still full at shutdown", 0,
                                                  worker.sender.targets))
                    waiting.clear()
            for worker in self.workers.values():
                worker.begin_close(deadline)
            for name, worker in self.workers.items():
                if worker.join(deadline - time.monotonic()):
                    continue
                left = worker.abandon()
                log.error("alert route %s: %d alert(s) not delivered within the %.1f s "
                          "shutdown timeout; dead-lettered", name, len(left), timeout_s)
                for outgoing, in_flight in left:
                    why = ("delivery still in progress at the shutdown timeout (it may have "
                           "arrived)" if in_flight else "not delivered within the shutdown timeout")
                    self._dead.put(DeadLetter(name, worker.render(outgoing), why, 0,
                                              worker.sender.targets, quiet=True))
            self._drain_dead()
            if self._audited > audited_before and self.audit is not None:
                # the engine flushed its audit log before closing us: make ours durable too
                try:
                    self.audit.flush()
                except Exception as e:
                    log.error("alert router: cannot flush the audit log: %s",
                              redact(f"{type(e).__name__}: {e}"))
            self._save_counters()

    # ------------------------------------------------------------------ internals

    def _route(self, item: AlertItem) -> None:
        with self._caller_lock:
            if self._closed:
                log.warning("alert router is closed; %s %s not routed", item.kind, item.category)
                return
            self._drain_dead()
            now = self.clock()
            for name, policy in self.policies.items():
                self._release_overflow(name)
                try:
                    decision = policy.offer(item, now)
                except Exception:
                    log.exception("alert route %s: policy failed", name)
                    continue
                self._count_decision(name, decision.status, decision.escalated)
                for outgoing in decision.outgoing:
                    self._submit(name, outgoing)

    def _submit(self, name: str, outgoing: Outgoing) -> None:
        """Queue without blocking. A full queue starts an overflow: this and later alerts
        are counted into one digest (no rendering, no I/O on the caller's thread), queued
        as soon as there is room again."""
        worker = self.workers[name]
        overflow = self._overflow[name]
        pending = self._overflow_pending[name]
        if not overflow.total and not pending and worker.submit(outgoing):
            self._gauge_depth(name, worker.depth)
            return
        if not overflow.total and not pending:
            log.warning("alert route %s: delivery queue full (%d waiting); alerts are counted "
                        "into one digest until it drains", name, worker.config.queue_size)
        self.counters[name].overflow += 1
        self._inc("flow_alerts_overflow_total", "alerts that found the delivery queue full",
                  route=name)
        if isinstance(outgoing, Alert):
            overflow.add(outgoing, self.clock())
        else:
            pending.append(outgoing)  # a digest: rare (one per rate window at most)

    def _release_overflow(self, name: str, timeout: float | None = None) -> bool:
        """Queue what overflowed once there is room; True when nothing is left waiting."""
        overflow = self._overflow[name]
        pending = self._overflow_pending[name]
        if not overflow.total and not pending:
            return True
        worker = self.workers[name]
        while pending:
            if not worker.submit(pending[0], timeout):
                return False
            pending.pop(0)
        if overflow.total:
            if timeout is None and worker.depth >= worker.config.queue_size:
                return False  # still full: keep counting into the same digest
            n = overflow.total
            digest = overflow.take("queue full", self.clock())
            if not worker.submit(digest, timeout):
                pending.append(digest)
                return False
            log.info("alert route %s: %d overflowed alert(s) queued as one digest", name, n)
        return True

    def _drain_dead(self) -> None:
        if self._draining:
            return  # re-entered from the audit log's listeners
        self._draining = True
        try:
            while True:
                try:
                    dl = self._dead.get_nowait()
                except queue.Empty:
                    return
                self._write_dead_letter(dl)
        finally:
            self._draining = False

    def _write_dead_letter(self, dl: DeadLetter) -> None:
        payload = dl.payload()
        error = redact(dl.error)
        wall = self.clock()
        dl_id: int | None = None
        where = "store"
        sink = self._dead_letter_sink()
        try:
            dl_id = sink.add_dead_letter(dl.route, payload, error, wall)
        except Exception as e:
            log.error("alert route %s: dead-letter store failed (%s); using the JSONL file",
                      dl.route, redact(f"{type(e).__name__}: {e}"))
            sink = self._jsonl_sink()
            where = "file"
            try:
                dl_id = sink.add_dead_letter(dl.route, payload, error, wall)
            except Exception as e2:
                log.error("alert route %s: dead letter lost, cannot write it anywhere: %s",
                          dl.route, redact(f"{type(e2).__name__}: {e2}"))
                return
        if sink is not self.store:
            where = "file"
        self.counters[dl.route].dead_lettered += 1
        self._inc("flow_alerts_dead_letter_total", "alerts kept as dead letters", route=dl.route)
        log.log(logging.DEBUG if dl.quiet else logging.ERROR,
                "alert route %s: %s %s dead-lettered as #%s after %d attempt(s): %s",
                dl.route, dl.message.kind, dl.message.finding_id or dl.message.category,
                dl_id, dl.attempts, error)
        if self.audit is not None:
            audit_payload = {
                "route": dl.route, "dead_letter_id": dl_id, "kind": dl.message.kind,
                "finding_id": dl.message.finding_id, "category": dl.message.category,
                "severity": dl.message.severity, "error": error, "attempts": dl.attempts,
                "targets": payload["targets"], "stored_in": where,
            }
            try:
                self.audit.record(DEAD_LETTER_CATEGORY, audit_payload, ts=dl.message.ts)
                self._audited += 1
            except Exception as e:
                log.error("alert route %s: cannot audit dead letter #%s: %s", dl.route, dl_id,
                          redact(f"{type(e).__name__}: {e}"))

    def _dead_letter_sink(self) -> Any:
        if supports_dead_letters(self.store):
            return self.store
        return self._jsonl_sink()

    def _jsonl_sink(self) -> JsonlDeadLetters:
        if self._dead_store is None:
            base = self.data_dir if self.data_dir is not None else Path("data")
            self._dead_store = JsonlDeadLetters(base / DEAD_LETTER_FILE)
        return self._dead_store

    def _count_decision(self, name: str, status: str, escalated: bool) -> None:
        c = self.counters[name]
        if escalated:
            c.escalated += 1
            self._inc("flow_alerts_escalated_total", "alerts escalated to critical", route=name)
        if status == DEDUPED:
            c.deduped += 1
            self._inc("flow_alerts_deduped_total", "alerts folded into a later one", route=name)
        elif status in (RATE_LIMITED, DROPPED):
            c.rate_limited += 1
            self._inc("flow_alerts_rate_limited_total", "alerts held back by the rate limit",
                      route=name)
            if status == DROPPED:
                c.dropped += 1
                self._inc("flow_alerts_dropped_total",
                          "rate-limited alerts dropped (digest off)", route=name)
        elif status in (FILTERED, BELOW_SEVERITY, OUTSIDE_WINDOW):
            c.filtered += 1

    def _count_result(self, name: str, ok: bool) -> None:  # worker thread
        if ok:
            self._inc("flow_alerts_sent_total", "alerts delivered", route=name)
        else:
            self._inc("flow_alerts_failed_total", "alerts not delivered after every retry",
                      route=name)

    def _inc(self, metric: str, help: str, **labels: str) -> None:
        if self.metrics is None:
            return
        try:
            self.metrics.counter(metric, help).inc(1, **labels)
        except Exception:
            log.debug("metrics update failed for %s", metric, exc_info=True)

    def _gauge_depth(self, name: str, depth: int) -> None:
        if self.metrics is None:
            return
        try:
            self.metrics.gauge("flow_alerts_queue_depth", "alerts waiting for delivery").set(
                depth, route=name)
        except Exception:
            log.debug("metrics update failed", exc_info=True)

    def _save_counters(self) -> None:
        """Add this run's counters to ``<data_dir>/alerts/counters.json`` (``flow alerts list``)."""
        if self.data_dir is None:
            return
        path = self.data_dir / COUNTERS_FILE
        try:
            merged = load_counters(path)
            for name, c in self.counters.items():
                row = merged.setdefault(name, {})
                for key, value in c.as_dict().items():
                    if key == "last_sent_wall_ns":
                        row[key] = max(int(row.get(key, 0)), value)
                    else:
                        row[key] = int(row.get(key, 0)) + value
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(orjson.dumps(merged, option=orjson.OPT_SORT_KEYS
                                         | orjson.OPT_INDENT_2))
            tmp.replace(path)
        except Exception as e:
            log.warning("alert router: cannot save counters to %s: %s", path,
                        redact(f"{type(e).__name__}: {e}"))


def load_counters(path: Path) -> dict[str, dict[str, int]]:
    try:
        data = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def config_section(config: Any, path: str) -> Any:
    """``config.section(path)`` when the config offers it; nested tables of a plain dict."""
    if config is None:
        return None
    section = getattr(config, "section", None)
    if callable(section):
        try:
            return section(path)
        except (KeyError, LookupError):
            return None
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def repro_from_runtime(runtime: Any) -> ReproContext:
    """Feed log, config and audit db paths the runtime knows, else placeholders."""
    config = getattr(runtime, "config", None)
    feed = next((str(v) for v in (getattr(runtime, "feed_log", None),
                                  getattr(runtime, "feed_path", None)) if v), FEED_PLACEHOLDER)
    cfg_path = next((str(v) for v in (getattr(runtime, "config_path", None),
                                      getattr(config, "source_path", None),
                                      getattr(config, "source", None)) if _is_path(v)),
                    CONFIG_PLACEHOLDER)
    audit = getattr(runtime, "audit", None)
    audit_url = getattr(getattr(audit, "sink", None), "url", None)
    audit_db = str(audit_url) if audit_url and "://" not in str(audit_url) else "<audit-db>"
    if audit_url and str(audit_url).startswith("sqlite:///"):
        audit_db = str(audit_url)[len("sqlite:///"):]
    return ReproContext(feed_log=feed, config_path=cfg_path, audit_db=audit_db)


def _is_path(value: Any) -> bool:
    # FlowConfig.source is "<defaults>" when no file was loaded
    return bool(value) and not str(value).startswith("<")
