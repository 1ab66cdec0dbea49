"""Metrics read at scrape time from what the engines, sources, store and routes already count.

Nothing here runs per event: the engine counts ingested events and findings
anyway, the venue runners count frames, rejects and reconnects, the SQLite
store keeps its flush latencies, the alert router its delivery counters.
:meth:`DaemonCollector.__call__` copies them into the registry when it is
rendered (see :meth:`horizon_flow_core.metrics.Registry.add_collector`).

Series (names fixed by the operations runbook):

* ``flow_events_ingested_total{venue}``, ``flow_frames_received_total{venue}``
* ``flow_findings_total{category,severity}``
* ``flow_feed_last_event_age_seconds{venue}``, ``flow_feed_last_frame_age_seconds{venue}``
* ``flow_reconnects_total{venue}``, ``flow_rejects_total{venue}``
* ``flow_queue_depth{venue}`` / ``flow_queue_capacity{venue}``, ``flow_source_up{venue}``
* ``flow_component_errors_total{component}``, ``flow_component_quarantined{component}``
* ``flow_store_write_latency_seconds`` (histogram of the store's batch commits)
* ``flow_alerts_failed_total{route}`` (``flow_alerts_sent_total{route}`` is counted by the
  alert plugin itself)
* ``flow_audit_chain_verify_ok`` is set by the chain verifier.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ..metrics import Registry
from .venue import VenueRunner

_NAME = re.compile(r"[^a-zA-Z0-9_]")


class FindingCounter:
    """``on_finding`` callback counting findings by (category, severity).

    One per engine: each is updated by its engine's thread only (``+=`` on a
    shared dict from several threads could lose counts); :func:`sum_counts`
    adds them up when read.
    """

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def __call__(self, finding: Any) -> None:
        self.counts[(finding.category, finding.severity)] += 1


def sum_counts(counters: Sequence[FindingCounter]) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for c in counters:
        out.update(dict(c.counts))
    return out


class StoreLatency:
    """Turns a store's commit latencies into ``flow_store_write_latency_seconds``.

    The SQLite store keeps them in ``stats.latencies_s`` (with ``stats.flushes``);
    other stores are timed by the daemon around its own ``flush`` calls
    (:meth:`observe`).
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self._seen = 0
        self._own: list[float] = []
        stats = getattr(store, "stats", None)
        self.native = (hasattr(stats, "latencies_s") and hasattr(stats, "flushes"))
        if self.native:
            self._seen = int(stats.flushes)  # type: ignore[union-attr]

    def observe(self, seconds: float) -> None:
        if not self.native:
            self._own.append(seconds)

    def drain(self) -> list[float]:
        if not self.native:
            out, self._own = self._own, []
            return out
        stats = self.store.stats
        flushes = int(stats.flushes)
        latencies = list(stats.latencies_s)
        new = flushes - self._seen
        self._seen = flushes
        if new <= 0:
            return []
        return latencies[-new:]


class DaemonCollector:
    def __init__(self, runners: Sequence[VenueRunner], engines: Sequence[tuple[str, Any]],
                 findings: Sequence[FindingCounter], store_latency: StoreLatency | None,
                 alert_sinks: Sequence[Any], clock: Callable[[], int],
                 source_errors: Callable[[], dict[str, int]],
                 extra_errors: Callable[[], dict[str, int]] = dict) -> None:
        self.runners = runners
        self.engines = engines
        self.findings = findings
        self.store_latency = store_latency
        self.alert_sinks = alert_sinks
        self.clock = clock
        self.source_errors = source_errors
        self.extra_errors = extra_errors

    def __call__(self, reg: Registry) -> None:
        now = self.clock()
        ingested = reg.counter("flow_events_ingested_total", "events run through an engine")
        frames = reg.counter("flow_frames_received_total", "raw frames received from venues")
        rejects = reg.counter("flow_rejects_total", "venue frames that could not be normalized")
        reconnects = reg.counter("flow_reconnects_total", "venue connections re-opened")
        event_age = reg.gauge("flow_feed_last_event_age_seconds",
                              "seconds since the venue's last market event (since start if "
                              "none yet)")
        frame_age = reg.gauge("flow_feed_last_frame_age_seconds",
                              "seconds since the venue's last frame of any kind")
        depth = reg.gauge("flow_queue_depth", "event batches waiting for the venue's engine")
        capacity = reg.gauge("flow_queue_capacity", "queue size before the source is held back")
        up = reg.gauge("flow_source_up", "1 while the venue's live source runs")
        blocked = reg.counter("flow_queue_blocked_total",
                              "times a venue's source waited for its engine's queue")
        recorded = reg.counter("flow_feed_recorded_lines_total", "lines written to feed logs")
        record_errors = reg.counter("flow_feed_record_errors_total",
                                    "feed log lines that could not be written")
        for r in self.runners:
            v = r.name
            ingested.set_total(r.events_ingested, venue=v)
            frames.set_total(r.frames, venue=v)
            rejects.set_total(r.rejects, venue=v)
            reconnects.set_total(r.reconnects, venue=v)
            event_age.set(round(r.last_event_age_s(now), 3), venue=v)
            frame_age.set(round(r.last_frame_age_s(now), 3), venue=v)
            depth.set(r.queue.qsize(), venue=v)
            capacity.set(r.queue.maxsize, venue=v)
            up.set(1 if r.state == "running" else 0, venue=v)
            blocked.set_total(r.blocked, venue=v)
            if r.recorder is not None:
                recorded.set_total(r.recorder.lines, venue=v)
                record_errors.set_total(r.recorder.errors, venue=v)
            for (name, labels), value in list(r.source_counts.items()):
                reg.counter(f"flow_source_{name}_total", f"counted by the {name} source").set_total(
                    value, venue=v, **dict(labels))

        found = reg.counter("flow_findings_total", "findings emitted, by category and severity")
        for (cat, sev), n in sorted(sum_counts(self.findings).items()):
            found.set_total(n, category=cat, severity=sev)

        errors = reg.counter("flow_component_errors_total",
                             "errors raised by components (detectors, stores, routes, sources)")
        quarantined = reg.gauge("flow_component_quarantined", "1 when the component is disabled")
        per_component: Counter[str] = Counter()
        q: dict[str, int] = {}
        for _, engine in self.engines:
            for c in engine.supervisor.status():
                name = f"{c['kind']}:{c['name']}"
                per_component[name] += int(c["errors"])
                q[name] = max(q.get(name, 0), 1 if c["quarantined"] else 0)
        for name, n in {**self.source_errors(), **self.extra_errors()}.items():
            per_component[name] += n
        for name, n in sorted(per_component.items()):
            errors.set_total(n, component=name)
        for name, flag in sorted(q.items()):
            quarantined.set(flag, component=name)

        if self.store_latency is not None:
            hist = reg.histogram("flow_store_write_latency_seconds",
                                 "time to commit one batch of findings and profiles")
            for s in self.store_latency.drain():
                hist.observe(s)

        failed = reg.counter("flow_alerts_failed_total",
                             "alert deliveries that failed (then retried or dead-lettered)")
        for sink in self.alert_sinks:
            for route, c in sorted(dict(getattr(sink, "counters", {}) or {}).items()):
                n_failed = getattr(c, "failed", None)
                if n_failed is not None:
                    failed.set_total(n_failed, route=route)


def metric_name(text: str) -> str:
    return _NAME.sub("_", text)
