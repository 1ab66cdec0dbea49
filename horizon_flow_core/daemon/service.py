"""The ``flow run`` daemon: live venues through engines into the stores, for as long as it runs.

Layout of the process:

* the **event loop** (main thread) runs each venue's live source under a
  supervisor that restarts it with a backoff when it fails; the sources'
  :class:`~horizon_flow_core.components.SourceContext` records every frame
  to the venue's daily feed log and queues the events (:mod:`.venue`);
* one **engine per venue** (``[daemon] engine_per_venue``, or one shared
  engine) on its own thread (:mod:`.worker`), all writing to the one flow
  store and the one hash-chained audit log, which in live mode stamps
  records with the wall clock;
* alert routes are built **once** from the alert plugins' factories and get
  every engine's findings (through ``on_finding``) and the operational audit
  records (through one audit subscription), so nothing is alerted twice;
* a **housekeeping** thread flushes the store and the audit log, writes the
  status file and the metrics textfile; another verifies the audit chain;
  an optional HTTP thread serves ``/metrics`` on loopback.

Signals: SIGTERM and SIGINT stop the sources, drain the queues into the
engines, close the engines (open episodes are finished and flushed), drain
the alert routes, write ``run.finished``, flush and close the stores, and
return exit code 0. SIGHUP reopens the log file and the feed logs.

A restart after a crash finds the previous run's ``run.started`` without a
``run.finished`` and writes ``run.resumed`` with the time of that run's last
audit record and the restart time. Findings stored recently are given to the
engines as already emitted, and the SQLite store ignores a finding id it
already holds, so nothing is stored, audited or alerted twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from ..audit.chain import AuditCategory, AuditLog
from ..components import RunCounts, RunInfo, Runtime
from ..config import FlowConfig, config_hash
from ..config.loader import read_toml
from ..engine.builder import build_engine
from ..errors import ConfigError, FlowError, PluginError
from ..logs import redact
from ..metrics import Registry
from ..plugin_manager import PluginManager
from ..runner import plugin_versions
from ..stores.resolve import open_audit_sink, open_flow_store
from .banner import BannerFacts, VenueLine, render_banner, venue_endpoint
from .chain_check import ChainVerifier
from .collectors import DaemonCollector, FindingCounter, StoreLatency, sum_counts
from .config import DaemonConfig, LoggingConfig, MetricsConfig, section
from .files import write_atomic
from .housekeeping import Periodic
from .logsetup import DaemonLogging
from .metrics_server import MetricsServer, TextfileWriter
from .recorder import DailyFeedRecorder
from .resume import (
    PreviousRun,
    previous_run,
    recent_finding_ids,
    remember_finding_ids,
    stored_among,
)
from .venue import QueueItem, VenueRunner
from .worker import EngineWorker

log = logging.getLogger("horizon_flow.daemon")

_FINDING_RECORDS = frozenset({"flow.anomaly", "flow.bot_detected", "actor.profiled"})
SHARED_ENGINE = "shared"


def configured_venues(config: FlowConfig, daemon: DaemonConfig,
                      override: list[str] | None = None) -> list[str]:
    """``--venue`` if given, else ``[daemon] venues``, else every ``[venues.X]`` table present."""
    if override:
        return list(dict.fromkeys(override))
    if daemon.venues:
        return list(daemon.venues)
    source = config.source
    if source and Path(source).is_file():
        table = read_toml(source).get("venues", {})
        if isinstance(table, dict) and table:
            return sorted(table)
    raise ConfigError(f"{source or 'config'}: no venue to run; add a [venues.<name>] table "
                      "per venue (or [daemon] venues = [...])")


class FlowDaemon:
    """Build with a loaded config and its plugin manager; ``run()`` until a signal."""

    def __init__(self, config: FlowConfig, pm: PluginManager, *,
                 venues: list[str] | None = None, clock: Any = time.time_ns,
                 log_stream: Any = None, configure_logging: bool = True,
                 log_level: str | None = None) -> None:
        self.config = config
        self.pm = pm
        self.clock = clock
        self.dcfg: DaemonConfig = section(config, "daemon", DaemonConfig)
        self.mcfg: MetricsConfig = section(config, "metrics", MetricsConfig)
        self.lcfg: LoggingConfig = section(config, "logging", LoggingConfig)
        self.venue_names = configured_venues(config, self.dcfg, venues)
        self.logging: DaemonLogging | None = None
        if configure_logging:
            self.logging = DaemonLogging(self.lcfg, stream=log_stream, level_override=log_level)
        self.run_id = uuid.uuid4().hex
        self.config_hash = config_hash(config)
        self.registry = Registry()
        self.state = "starting"
        self.started_wall_ns = clock()
        self.exit_code = 0
        self.runners: list[VenueRunner] = []
        self.engines: dict[str, Any] = {}
        self.workers: dict[str, EngineWorker] = {}
        self.alert_sinks: list[Any] = []
        self.source_errors: Counter[str] = Counter()
        self.extra_errors: Counter[str] = Counter()
        self.findings: list[FindingCounter] = []
        self.previous: PreviousRun | None = None
        self.metrics_server: MetricsServer | None = None
        self.textfile: TextfileWriter | None = None
        self.store_error: str | None = None
        self.last_flush_wall_ns = 0
        self._alerts_open = False
        self._stop_event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._built = False
        self._closed = False
        self._status_lock = threading.Lock()
        self._housekeeping = Periodic("flow-housekeeping")
        self._verifier_thread = Periodic("flow-audit-verify", tick_s=1.0)
        self.store: Any = None
        self.audit_sink: Any = None
        self.audit: AuditLog | None = None
        self.runtime: Runtime | None = None
        self.verifier: ChainVerifier | None = None
        self.store_latency: StoreLatency | None = None

    # ------------------------------------------------------------------ building
    def build(self) -> None:
        """Open everything (stores, routes, engines, sources, metrics) without starting it."""
        try:
            self._build()
        except BaseException:
            self.close_unstarted()
            raise

    def close_unstarted(self) -> None:
        """Close what a failed or check-only build opened (nothing was written)."""
        if self._closed:
            return
        self._closed = True
        for sink in self.alert_sinks:
            try:
                sink.close(1.0)
            except Exception as exc:
                log.warning("alert sink %s failed to close: %s", getattr(sink, "name", "?"), exc)
        if self.metrics_server is not None:
            self.metrics_server.stop()
        for closeable in (self.audit_sink, self.store):
            if closeable is not None:
                try:
                    closeable.close()
                except Exception as exc:
                    log.warning("closing %s failed: %s", closeable, exc)
        if self.logging is not None:
            self.logging.close()

    def _build(self) -> None:
        cfg, pm, d = self.config, self.pm, self.dcfg
        pm.check_conflicts()
        specs = {}
        for name in self.venue_names:
            spec = pm.venue(name)
            if spec.make_live_source is None:
                raise PluginError(f"venue {name!r} ({spec.plugin}) has no live source; it can "
                                  "be scanned from recordings but not run live")
            specs[name] = spec
        data_dir = Path(d.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)

        self.store = open_flow_store(cfg.stores.flow, pm)
        attach = getattr(self.store, "attach_metrics", None)
        if callable(attach):
            attach(self.registry)
        self.store_latency = StoreLatency(self.store)
        self.audit_sink = open_audit_sink(cfg.stores.audit, pm)
        self.previous = previous_run(self.audit_sink)
        self.audit = AuditLog(self.audit_sink, clock=self.clock)
        self.runtime = Runtime(config=cfg, audit=self.audit, store=self.store,
                               metrics=self.registry, data_dir=data_dir, clock=self.clock)
        self._build_alert_routes()
        self.audit.subscribe(self._route_record)

        sources = {}
        for name, spec in specs.items():
            assert spec.make_live_source is not None
            try:
                sources[name] = spec.make_live_source(cfg.venue_config(name))
            except FlowError:
                raise
            except Exception as exc:
                raise ConfigError(f"venue {name}: cannot build its live source: "
                                  f"{type(exc).__name__}: {exc}") from None
        groups = ({n: [n] for n in self.venue_names} if d.engine_per_venue
                  else {SHARED_ENGINE: list(self.venue_names)})
        feeds = d.feeds_path() if d.record_feeds else None
        for engine_name, members in groups.items():
            engine = build_engine(cfg, pm, store=self.store, audit=self.audit,
                                  venue=engine_name if d.engine_per_venue else None,
                                  runtime=self.runtime, alerts=False)
            counter = FindingCounter()
            self.findings.append(counter)
            engine.on_finding(counter)
            engine.on_finding(self._alert_forwarder(engine))
            self.engines[engine_name] = engine
            q: queue.Queue[QueueItem] = queue.Queue(maxsize=d.queue_size)
            self.workers[engine_name] = EngineWorker(engine_name, engine, q)
            for name in members:
                recorder = DailyFeedRecorder(feeds, name) if feeds is not None else None
                self.runners.append(VenueRunner(name, sources[name], q, recorder=recorder,
                                                clock=self.clock, engine_name=engine_name))

        self.verifier = ChainVerifier(self.audit_sink, self.audit, metrics=self.registry,
                                      clock=self.clock)
        self.registry.add_collector(DaemonCollector(
            self.runners, list(self.engines.items()), self.findings, self.store_latency,
            self.alert_sinks, self.clock, lambda: dict(self.source_errors),
            lambda: dict(self.extra_errors)))
        self.registry.gauge("flow_daemon_start_time_seconds",
                            "wall time the daemon started").set(self.started_wall_ns / 1e9)
        if self.mcfg.port >= 0:
            try:
                self.metrics_server = MetricsServer(self.registry, self.mcfg.host, self.mcfg.port)
            except OSError as exc:
                raise ConfigError(f"metrics: cannot listen on {self.mcfg.host}:{self.mcfg.port}: "
                                  f"{exc.strerror or exc}") from None
        if self.mcfg.textfile:
            self.textfile = TextfileWriter(self.registry, self.mcfg.textfile)
        self._built = True

    def _build_alert_routes(self) -> None:
        assert self.runtime is not None
        for spec in self.pm.alert_router_specs():
            try:
                sink = spec.factory(self.runtime)
            except Exception as exc:
                raise ConfigError(f"alert router {spec.name} ({spec.plugin}) could not be "
                                  f"built: {type(exc).__name__}: {exc}") from None
            if sink is not None:
                self.alert_sinks.append(sink)
        self._alerts_open = bool(self.alert_sinks)

    def _alert_forwarder(self, engine: Any) -> Any:
        sinks = self.alert_sinks

        def route_finding(finding: Any) -> None:
            if not self._alerts_open:
                return
            profile = engine.profile(finding.venue, finding.actor_id) if finding.actor_id \
                else None
            for sink in sinks:
                try:
                    sink.notify_finding(finding, profile)
                except Exception as exc:  # a sink must not stop the others
                    self.extra_errors[f"alert:{getattr(sink, 'name', 'alerts')}"] += 1
                    log.error("alert sink %s failed on finding %s: %s",
                              getattr(sink, "name", "?"), finding.id, exc)
        return route_finding

    def _route_record(self, record: Any) -> None:
        if not self._alerts_open or record.category in _FINDING_RECORDS:
            return
        for sink in self.alert_sinks:
            try:
                sink.notify_record(record)
            except Exception as exc:
                self.extra_errors[f"alert:{getattr(sink, 'name', 'alerts')}"] += 1
                log.error("alert sink %s failed on audit record %s: %s",
                          getattr(sink, "name", "?"), record.category, exc)

    # ------------------------------------------------------------------ banner
    def banner(self) -> str:
        cfg = self.config
        specs = {s.name: s for s in self.pm.venue_specs()}
        venues = [VenueLine(r.name, specs[r.name].plugin,
                            venue_endpoint(cfg.venue_config(r.name)), r.engine_name)
                  for r in self.runners]
        first = next(iter(self.engines.values()), None)
        profilers = sorted({s.name for e in self.engines.values()
                            for s in e.supervisor.components if s.kind == "profiler"})
        routes = cfg.section("alerts.routes") or {}
        resumed = None
        if self.previous is not None and not self.previous.finished:
            gap = (self.clock() - self.previous.last_ts) / 1e9
            resumed = (f"RESUMING after an unclean stop: the previous run's last audit record "
                       f"is {gap:.1f} s old (run.resumed is audited)")
        facts = BannerFacts(
            pid=os.getpid(), config_path=cfg.source, config_hash=self.config_hash,
            run_id=self.run_id,
            plugins=[(r.name, r.version, r.status) for r in self.pm.listing()],
            detectors=list(first.detector_names) if first is not None else [],
            profilers=profilers, venues=venues, flow_store=cfg.stores.flow,
            audit_store=cfg.stores.audit, routes=routes if isinstance(routes, dict) else {},
            feeds_dir=str(self.dcfg.feeds_path()) if self.dcfg.record_feeds else None,
            status_file=str(self.dcfg.status_path()),
            metrics_url=self.metrics_server.url if self.metrics_server else None,
            textfile=self.mcfg.textfile or None, resumed=resumed)
        return render_banner(facts)

    # ------------------------------------------------------------------ running
    def run(self) -> int:
        """Build (if not yet), run until SIGTERM/SIGINT, shut down; the exit code."""
        return asyncio.run(self.run_async())

    async def run_async(self) -> int:
        if not self._built:
            self.build()
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        installed = self._install_signals()
        try:
            self._start()
            self._tasks = [asyncio.create_task(self._supervise(r), name=f"source-{r.name}")
                           for r in self.runners]
            self.state = "running"
            self._write_status()
            log.info("running: %d venue(s), %d engine(s); SIGTERM or SIGINT stops, SIGHUP "
                     "reopens logs", len(self.runners), len(self.engines))
            await self._stop_event.wait()
            self.state = "stopping"
            self._write_status()
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for r in self.runners:
                if r.state in ("running", "starting", "restarting"):
                    r.state = "stopped"
        finally:
            self._shutdown()
            for sig in installed:
                self._loop.remove_signal_handler(sig)
        return self.exit_code

    def _install_signals(self) -> list[int]:
        assert self._loop is not None
        installed: list[int] = []
        handlers = {signal.SIGTERM: lambda: self.request_stop("SIGTERM"),
                    signal.SIGINT: lambda: self.request_stop("SIGINT"),
                    signal.SIGHUP: self.reopen}
        for sig, fn in handlers.items():
            try:
                self._loop.add_signal_handler(sig, fn)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (embedded use): the caller stops us
        return installed

    def request_stop(self, reason: str = "requested") -> None:
        """Begin a graceful shutdown (safe from the loop's thread; see ``stop_threadsafe``)."""
        if self._stop_event is None or self._stop_event.is_set():
            log.info("%s: shutdown already in progress", reason)
            return
        log.info("%s received: stopping sources, draining queues, flushing stores", reason)
        self._stop_event.set()

    def stop_threadsafe(self, reason: str = "requested") -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.request_stop, reason)

    def reopen(self) -> None:
        """SIGHUP: reopen the log file and the feed logs (after logrotate moved them)."""
        reopened = self.logging.reopen() if self.logging is not None else False
        for r in self.runners:
            if r.recorder is not None:
                r.recorder.reopen()
        log.info("SIGHUP: reopened %s and %d feed log(s)",
                 "the log file" if reopened else "no log file (logging to a stream)",
                 sum(1 for r in self.runners if r.recorder is not None))

    def _start(self) -> None:
        assert self.audit is not None and self.store is not None
        versions = plugin_versions(self.pm)
        now = self.clock()
        self.store.begin_run(RunInfo(run_id=self.run_id, mode="run", config_hash=self.config_hash,
                                     feed=str(self.dcfg.feeds_path()), feed_sha256=None,
                                     plugins=versions, started_wall_ns=now))
        self.audit.record(AuditCategory.RUN_STARTED, {
            "mode": "run", "run_id": self.run_id, "config_hash": self.config_hash,
            "config": self.config.source, "venues": [r.name for r in self.runners],
            "engines": {n: [r.name for r in self.runners if r.engine_name == n]
                        for n in sorted(self.engines)},
            "plugins": versions, "pid": os.getpid()})
        prev = self.previous
        if prev is not None and not prev.finished:
            self.audit.record(AuditCategory.RUN_RESUMED, {
                "run_id": self.run_id, "previous_run_id": prev.run_id,
                "previous_mode": prev.mode, "previous_started_seq": prev.started_seq,
                "previous_last_seq": prev.last_seq, "previous_last_ts": prev.last_ts,
                "restart_ts": now, "gap_ns": max(0, now - prev.last_ts)})
            log.warning("the previous run (%s) did not finish cleanly: blind from its last "
                        "audit record for %.1f s; run.resumed audited", prev.run_id or "?",
                        max(0, now - prev.last_ts) / 1e9)
            if prev.run_id and prev.mode == "run":
                try:
                    self.store.finish_run(prev.run_id, RunCounts(
                        finished_wall_ns=prev.last_ts, status="interrupted"))
                except Exception as exc:
                    log.info("previous run %s not marked interrupted in the store: %s",
                             prev.run_id, exc)
        self.audit.flush()
        since = now - int(self.dcfg.resume_lookback_s * 1e9)
        recent = recent_finding_ids(self.audit_sink, since, self.dcfg.resume_max_findings)
        for engine_name, engine in self.engines.items():
            ids = [i for r in self.runners if r.engine_name == engine_name
                   for i in stored_among(self.store, r.name, recent.get(r.name, []))]
            if ids:
                n = remember_finding_ids(engine, ids)
                log.info("engine %s: %d finding(s) audited and stored in the last %.0f h will "
                         "not be emitted again", engine_name, n,
                         self.dcfg.resume_lookback_s / 3600)
        for worker in self.workers.values():
            worker.start()
        hk = self._housekeeping
        hk.add("flush", self.dcfg.flush_interval_s, self._flush)
        hk.add("status", self.dcfg.status_interval_s, self._write_status)
        if self.textfile is not None:
            hk.add("textfile", self.mcfg.textfile_interval_s, self.textfile.write,
                   first_after_s=0.0)
        hk.start()
        assert self.verifier is not None
        self._verifier_thread.add("verify", self.dcfg.chain_verify_interval_s,
                                  self.verifier.run, first_after_s=0.0)
        self._verifier_thread.start()
        if self.metrics_server is not None:
            self.metrics_server.start()
        self.pm.call_lifecycle("flow_startup", runtime=self.runtime)
        log.info("start-up\n%s", self.banner())

    async def _supervise(self, runner: VenueRunner) -> None:
        ctx = runner.context()
        d = self.dcfg
        delay = d.restart_min_s
        while True:
            runner.state = "running"
            started = time.monotonic()
            try:
                await runner.source.run(ctx)
            except asyncio.CancelledError:
                runner.state = "stopped"
                raise
            except Exception as exc:
                runner.restarts += 1
                runner.state = "restarting"
                runner.last_error = redact(f"{type(exc).__name__}: {exc}")
                self.source_errors[f"source:{runner.name}"] += 1
                if time.monotonic() - started > d.restart_max_s:
                    delay = d.restart_min_s  # it ran well for a while: back off afresh
                log.error("venue %s: live source failed: %s; restarting in %.1f s",
                          runner.name, runner.last_error, delay)
                self._audit_safe(AuditCategory.COMPONENT_ERROR, {
                    "component": f"source:{runner.name}", "kind": "source",
                    "error": runner.last_error, "restarts": runner.restarts})
                await asyncio.sleep(delay)
                delay = min(delay * 2, d.restart_max_s)
                continue
            runner.state = "ended"
            log.warning("venue %s: live source ended by itself (nothing to follow?)",
                        runner.name)
            return

    def _audit_safe(self, category: str, payload: dict[str, Any]) -> None:
        if self.audit is None:
            return
        try:
            self.audit.record(category, payload)
        except Exception as exc:
            log.error("audit log write failed (%s): %s", category, exc)

    # ------------------------------------------------------------------ housekeeping
    def _flush(self) -> None:
        t0 = time.perf_counter()
        try:
            self.store.flush()
            if self.store_latency is not None:
                self.store_latency.observe(time.perf_counter() - t0)
            self.last_flush_wall_ns = self.clock()
            if self.store_error is not None:
                log.warning("flow store writes work again")
            self.store_error = None
        except Exception as exc:
            first = self.store_error is None
            self.store_error = redact(f"{type(exc).__name__}: {exc}")
            self.extra_errors["store:flush"] += 1
            if first:
                log.error("flow store flush failed: %s (findings stay buffered and in the "
                          "audit log)", self.store_error)
                self._audit_safe(AuditCategory.STORE_ERROR, {"error": self.store_error})
        assert self.audit is not None
        self.audit.flush()

    def status(self) -> dict[str, Any]:
        now = self.clock()
        venues = {}
        for r in self.runners:
            venues[r.name] = {
                "engine": r.engine_name, "source_state": r.state, "last_error": r.last_error,
                "stale_after_s": self.dcfg.stale_after(r.name),
                "restarts": r.restarts, "started_wall_ns": r.started_wall_ns,
                "last_frame_wall_ns": r.last_frame_wall_ns,
                "last_event_wall_ns": r.last_event_wall_ns, "frames": r.frames,
                "events_emitted": r.events_emitted, "events_ingested": r.events_ingested,
                "last_ingested_ts": r.last_ingested_ts, "rejects": r.rejects,
                "reconnects": r.reconnects, "queue_depth": r.queue.qsize(),
                "queue_capacity": r.queue.maxsize,
                "feed_log": str(r.recorder.path) if r.recorder and r.recorder.path else None,
                "feed_log_errors": r.recorder.errors if r.recorder else 0,
            }
        chain = self.verifier.status if self.verifier is not None else None
        quarantined = sorted({f"{s.kind}:{s.name}" for e in self.engines.values()
                              for s in e.supervisor.components if s.quarantined})
        alerts = {}
        for sink in self.alert_sinks:
            for route, c in sorted(dict(getattr(sink, "counters", {}) or {}).items()):
                as_dict = getattr(c, "as_dict", None)
                alerts[route] = as_dict() if callable(as_dict) else {}
        return {
            "pid": os.getpid(), "host": os.uname().nodename, "run_id": self.run_id,
            "state": self.state, "started_wall_ns": self.started_wall_ns,
            "updated_wall_ns": now, "config": self.config.source,
            "config_hash": self.config_hash,
            "status_interval_s": self.dcfg.status_interval_s,
            "feed_stale_after_s": self.dcfg.feed_stale_after_s,
            "queue_backed_up_fraction": self.dcfg.queue_backed_up_fraction,
            "metrics": {"url": self.metrics_server.url if self.metrics_server else None,
                        "textfile": self.mcfg.textfile or None},
            "venues": venues,
            "store": {"url": redact(self.config.stores.flow), "last_error": self.store_error,
                      "last_flush_wall_ns": self.last_flush_wall_ns},
            "audit": {"url": redact(self.config.stores.audit),
                      "chain_ok": chain.ok if chain else None,
                      "verified_seq": chain.verified_seq if chain else 0,
                      "problem": chain.problem if chain else None,
                      "last_verify_wall_ns": chain.last_run_wall_ns if chain else 0,
                      "head_seq": self.audit.head[0] if self.audit else 0},
            "alerts": alerts, "quarantined": quarantined,
            "findings": sum(sum_counts(self.findings).values()),
        }

    def _write_status(self) -> None:
        from ..jsonio import pretty

        with self._status_lock:  # the housekeeping thread and shutdown both write it
            write_atomic(self.dcfg.status_path(), pretty(self.status()) + b"\n")

    # ------------------------------------------------------------------ shutdown
    def _shutdown(self) -> None:
        """Drain and close everything, in dependency order; sets ``exit_code``."""
        if self._closed or not self._built:
            return
        self._closed = True
        self._housekeeping.stop()
        for r in self.runners:
            r.closed = True
        deadline = time.monotonic() + self.dcfg.drain_timeout_s
        stuck = []
        for name, worker in self.workers.items():
            if worker.alive or worker.depth:
                if not worker.alive:
                    worker.start()  # never started (failure during start-up): drain now
                if not worker.stop(max(0.1, deadline - time.monotonic())):
                    stuck.append(name)
        for name in stuck:
            log.error("engine %s did not drain its queue within %.0f s; its pending events "
                      "are in the feed log (replay them)", name, self.dcfg.drain_timeout_s)
            self.exit_code = 1
        for name, engine in self.engines.items():
            if name in stuck:
                continue
            try:
                engine.close(alert_timeout_s=self.dcfg.alert_drain_timeout_s)
            except Exception as exc:
                log.error("engine %s failed to close: %s", name, exc)
                self.exit_code = 1
        for sink in self.alert_sinks:
            try:
                sink.close(self.dcfg.alert_drain_timeout_s)
            except Exception as exc:
                log.error("alert sink %s failed to close: %s", getattr(sink, "name", "?"), exc)
        self._alerts_open = False
        for r in self.runners:
            if r.recorder is not None:
                r.recorder.close()
        self._verifier_thread.stop()
        events = sum(r.events_ingested for r in self.runners)
        rejects = sum(r.rejects for r in self.runners)
        findings = sum(e.findings_emitted for e in self.engines.values())
        profiles = sum(e.profiles_emitted for e in self.engines.values())
        status = "finished" if self.exit_code == 0 else "failed"
        if self.audit is not None:
            self._audit_safe(AuditCategory.RUN_FINISHED, {
                "mode": "run", "run_id": self.run_id, "events": events, "rejects": rejects,
                "findings": findings, "profiles": profiles, "status": status,
                "by_venue": {r.name: r.events_ingested for r in self.runners}})
            try:
                self.audit.flush()
                # a last incremental check of this run's records; skipped while a first full
                # verification of a long log is still going (it must not hold up the stop)
                if (self.verifier is not None and self.verifier.status.runs
                        and not self._verifier_thread.alive):
                    self.verifier.run()
                self.audit.close()
            except Exception as exc:
                log.error("audit log close failed: %s", exc)
                self.exit_code = 1
        try:
            self.store.finish_run(self.run_id, RunCounts(
                events=events, rejects=rejects, findings=findings, profiles=profiles,
                finished_wall_ns=self.clock(), status=status))
            self.store.close()
        except Exception as exc:
            log.error("flow store close failed: %s", exc)
            self.exit_code = 1
        self.pm.call_lifecycle("flow_shutdown", runtime=self.runtime)
        if self.textfile is not None:
            self.textfile.write()
        if self.metrics_server is not None:
            self.metrics_server.stop()
        self.state = "stopped"
        try:
            self._write_status()
        except OSError as exc:
            log.error("cannot write the final status file: %s", exc)
        log.info("stopped: %d events, %d findings, %d rejects; exit code %d", events, findings,
                 rejects, self.exit_code)
        if self.logging is not None:
            self.logging.close()
        sys.stdout.flush()
