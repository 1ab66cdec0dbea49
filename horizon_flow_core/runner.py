"""Running a feed log through the engine into the stores: what ``flow scan`` and
``flow replay`` do, as a library call.

The audit chain of a scan is deterministic: records carry event time, and the
``run.started``/``run.finished`` payloads hold only what the input decides
(config hash, feed name and digest, plugin versions, counts). Wall-clock
times and the run id live in the store's runs table, outside the chain.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from .audit.chain import AuditCategory, AuditLog
from .components import RunCounts, RunInfo, Runtime
from .config import FlowConfig, config_hash
from .engine.builder import build_engine
from .errors import FlowError
from .events import MarketEvent
from .feeds.raw import iter_raw_recording
from .feeds.reader import read_feed_log
from .feeds.rejects import RejectLog
from .jsonio import canonical
from .plugin_manager import PluginManager, get_plugin_manager
from .stores.resolve import open_audit_sink, open_flow_store

log = logging.getLogger("horizon_flow.runner")


@attrs.define
class ScanSummary:
    feed: str
    venue: str | None
    events: int = 0
    rejects: int = 0
    findings: int = 0
    profiles: int = 0
    by_category: dict[str, int] = attrs.field(factory=dict)
    by_severity: dict[str, int] = attrs.field(factory=dict)
    seconds: float = 0.0
    rejects_path: str | None = None
    reject_examples: list[str] = attrs.field(factory=list)
    store: str | None = None
    audit: str | None = None
    status: str = "finished"
    run_id: str = ""
    config_hash: str = ""
    components: list[dict[str, Any]] = attrs.field(factory=list)
    #: SHA-256 over the canonical findings in emission order: equal digests, equal findings
    findings_digest: str = ""
    #: hash of the last audit record after the run (the chain's head)
    audit_head: str = ""

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["events_per_second"] = round(self.events_per_second, 1)
        return d


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def plugin_versions(pm: PluginManager) -> dict[str, str]:
    return {r.distribution: r.version for r in pm.listing() if r.status == "active"}


def default_rejects_path(feed: str | Path, db: str | None) -> Path:
    """Beside the output store when it is a file, else beside the feed."""
    from .stores.resolve import store_scheme

    feed_name = Path(str(feed)).name
    for suffix in (".gz", ".jsonl", ".json"):
        if feed_name.endswith(suffix):
            feed_name = feed_name[: -len(suffix)]
    if db:
        scheme = store_scheme(db)
        if scheme is None or scheme == "sqlite":
            p = db.split("://", 1)[-1].lstrip("/") if scheme else db
            if scheme == "sqlite" and db.startswith("sqlite:////"):
                p = "/" + p
            return Path(p).parent / f"{feed_name}.rejects.jsonl"
    return Path(str(feed)).parent / f"{feed_name}.rejects.jsonl"


#: cyclic-GC thresholds during a replay: young collections every 50,000 allocations
#: instead of 700 (the engine's state is long-lived, so frequent young collections
#: mostly re-examine survivors; replay has no latency to protect)
_REPLAY_GC_THRESHOLD = (50_000, 20, 10)


def _gc_for_replay() -> tuple[int, int, int]:
    """Set up the collector for a bulk replay; returns the thresholds to restore.

    Objects made before the replay (plugins, config, the engine) are frozen out
    of the collector's traversals. Nothing a scan computes depends on when
    garbage is collected.
    """
    saved = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_REPLAY_GC_THRESHOLD)
    return saved  # type: ignore[return-value]


def _gc_restore(saved: tuple[int, int, int]) -> None:
    gc.set_threshold(*saved)
    gc.unfreeze()


def iter_feed(path: str | Path, venue: str | None, config: FlowConfig, pm: PluginManager,
              rejects: RejectLog, progress: Callable[[int], None] | None = None
              ) -> Iterator[MarketEvent]:
    if venue is None:
        return read_feed_log(path, rejects, progress=progress)
    spec = pm.venue(venue)
    normalizer = spec.make_normalizer(config.venue_config(venue))
    return iter_raw_recording(path, normalizer, rejects, progress=progress)


def run_scan(feed: str | Path, *, config: FlowConfig | None = None,
             pm: PluginManager | None = None, db: str | None = None, audit_db: str | None = None,
             venue: str | None = None, mode: str = "scan", rejects_path: str | Path | None = None,
             strict: bool = False, progress: Callable[[int, int], None] | None = None,
             alerts: bool = False) -> ScanSummary:
    """Scan ``feed`` into the stores. ``progress(bytes_done, bytes_total)`` as it goes."""
    config = config if config is not None else FlowConfig()
    pm = pm if pm is not None else get_plugin_manager(config.plugins)
    pm.check_conflicts()
    feed_path = Path(feed)
    if not feed_path.exists():
        raise FlowError(f"{feed_path}: feed log not found")
    db = db or config.stores.flow
    audit_db = audit_db if audit_db is not None else config.stores.audit
    cfg_hash = config_hash(config)
    summary = ScanSummary(feed=str(feed_path), venue=venue, store=db, audit=audit_db,
                          config_hash=cfg_hash)
    rejects = RejectLog(rejects_path if rejects_path is not None
                        else default_rejects_path(feed_path, db), strict=strict)
    summary.rejects_path = str(rejects.path)

    store = open_flow_store(db, pm)
    sink = open_audit_sink(audit_db, pm) if audit_db else None
    audit = AuditLog(sink) if sink is not None else None
    total = feed_path.stat().st_size
    feed_digest = file_sha256(feed_path)
    versions = plugin_versions(pm)
    run_id = uuid.uuid4().hex
    summary.run_id = run_id
    store.begin_run(RunInfo(run_id=run_id, mode=mode, config_hash=cfg_hash, feed=str(feed_path),
                            feed_sha256=feed_digest, plugins=versions,
                            started_wall_ns=time.time_ns()))
    runtime = Runtime(config=config, audit=audit, store=store,
                      data_dir=Path(os.path.dirname(db.split("://", 1)[-1]) or "."),
                      feed_log=str(feed_path), config_path=config.source)
    engine = build_engine(config, pm, store=store, audit=audit, venue=venue, runtime=runtime,
                          alerts=alerts)
    pm.call_lifecycle("flow_startup", runtime=runtime)
    digest = hashlib.sha256()
    engine.on_finding(lambda f: digest.update(canonical(f.to_dict()) + b"\n"))
    started_payload = {"mode": mode, "config_hash": cfg_hash, "feed": feed_path.name,
                       "feed_sha256": feed_digest, "venue": venue, "plugins": versions,
                       "detectors": engine.detector_names}
    on_bytes = (lambda done: progress(done, total)) if progress is not None else None
    t0 = time.perf_counter()
    started = False
    status = "finished"
    gc_saved = _gc_for_replay()
    try:
        events = iter_feed(feed_path, venue, config, pm, rejects, on_bytes)
        first = next(events, None)
        if first is not None:  # the run's start is audited at its first event's time
            if audit is not None:
                audit.record(AuditCategory.RUN_STARTED, started_payload, first.ts)
            started = True
            engine.ingest_many(itertools.chain((first,), events))
    except KeyboardInterrupt:
        status = "interrupted"
        log.warning("interrupted: flushing what was processed")
    except BaseException:
        status = "failed"
        raise
    finally:
        # Every step runs even when an earlier one fails (a full disk under the
        # audit log must not leave the flow store open and its run 'running');
        # the first error is raised at the end.
        errors: list[BaseException] = []

        def step(fn: Callable[[], object]) -> None:
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)

        if audit is not None and not started:
            step(lambda: audit.record(AuditCategory.RUN_STARTED, started_payload, 0))
        step(engine.close)
        summary.seconds = time.perf_counter() - t0
        summary.events = engine.ingest_count
        summary.rejects = rejects.count
        summary.reject_examples = list(rejects.examples)
        summary.findings = engine.findings_emitted
        summary.profiles = engine.profiles_emitted
        summary.by_category = dict(sorted(engine.findings_by_category.items()))
        summary.status = status if not errors else "failed"
        summary.components = engine.supervisor.status()
        step(rejects.close)
        if audit is not None:
            finished = {"mode": mode, "events": summary.events, "rejects": summary.rejects,
                        "findings": summary.findings, "profiles": summary.profiles,
                        "by_category": summary.by_category, "status": summary.status}
            step(lambda: audit.record(AuditCategory.RUN_FINISHED, finished, engine.last_ts))
            summary.audit_head = audit.head[1]
            step(audit.close)
        counts = RunCounts(events=summary.events, rejects=summary.rejects,
                           findings=summary.findings, profiles=summary.profiles,
                           finished_wall_ns=time.time_ns(),
                           status=summary.status if not errors else "failed")
        step(lambda: store.finish_run(run_id, counts))
        step(store.close)
        # restored only now: closing stores and audits every actor's final profile,
        # the replay's last burst of allocations
        _gc_restore(gc_saved)
        step(lambda: pm.call_lifecycle("flow_shutdown", runtime=runtime))
        if errors and sys.exc_info()[1] is None:
            raise errors[0]
    summary.by_severity = dict(sorted(engine.findings_by_severity.items()))
    summary.findings_digest = digest.hexdigest()
    return summary
