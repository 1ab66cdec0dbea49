"""The daemon in-process with a toy venue: SIGHUP reopens, SIGTERM/SIGINT drain and exit 0,
a failing source is restarted, an unclean previous run is resumed without duplicates.

Real signals are sent to this process while the daemon's event loop runs in
the main thread (as under systemd); stores are real SQLite files.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from horizon_flow_core import (
    AnomalyFinding,
    DetectorSpec,
    FrameError,
    MarketEvent,
    VenueSpec,
    hookimpl,
    make_event,
)
from horizon_flow_core.audit.chain import AuditLog, verify_chain
from horizon_flow_core.components import FindingQuery, RunInfo, SourceContext
from horizon_flow_core.config import load_config
from horizon_flow_core.daemon.service import FlowDaemon
from horizon_flow_core.jsonio import loads
from horizon_flow_core.logs import setup_logging
from horizon_flow_core.plugin_manager import PluginManager

sqlite_plugin = pytest.importorskip("horizon_flow_store_sqlite.plugin")

NS = 1_000_000_000
T0 = 1_780_000_000 * NS
# price, size, event time: sizes >= 10 are flagged by BigTrade
FRAMES = [{"p": 0.5, "q": 12.0, "t": T0}, {"p": 0.6, "q": 1.0, "t": T0 + NS},
          {"p": 0.4, "q": 30.0, "t": T0 + 2 * NS}, "not a trade"]


class ToyNormalizer:
    venue = "toy"

    def normalize(self, frame: Any, recv_ts: int | None) -> list[MarketEvent]:
        if frame == "HB":
            return []
        if not isinstance(frame, dict):
            raise FrameError(f"unknown frame {frame!r}")
        return [make_event("toy", "M", "trade.tape", frame["t"], price=frame["p"],
                           size=frame["q"], side="buy")]


class ToySource:
    """Sends FRAMES, then a heartbeat frame every 20 ms; fails once after ``fail_after``."""

    venue = "toy"

    def __init__(self, fail_after: int | None = None) -> None:
        self.normalizer = ToyNormalizer()
        self.fail_after = fail_after
        self.runs = 0

    async def run(self, ctx: SourceContext) -> None:
        self.runs += 1
        for i, frame in enumerate(FRAMES):
            if self.fail_after is not None and self.runs == 1 and i == self.fail_after:
                raise ConnectionError("venue hung up")
            ctx.record_frame(frame, ctx.clock())
            try:
                events = self.normalizer.normalize(frame, None)
            except FrameError as exc:
                ctx.reject(str(exc), frame)
                continue
            ctx.emit(events)
        while True:
            await asyncio.sleep(0.02)
            ctx.record_frame("HB", ctx.clock())


class BigTrade:
    name = "big_trade"
    kinds = frozenset({"trade.tape"})

    def on_event(self, ev: MarketEvent, ctx: Any) -> list[AnomalyFinding] | None:
        if (ev.size or 0) < 10:
            return None
        return [AnomalyFinding.make(detector=self.name, category="big_trade", severity="high",
                                    confidence=0.9, market_id=ev.market_id,
                                    message=f"size {ev.size}", evidence={"size": ev.size})]


class ToyPlugin:
    HORIZON_FLOW_PLUGIN_API = 1

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.sources: list[ToySource] = []

    def _source(self, cfg: Any) -> ToySource:
        src = ToySource(self.fail_after)
        self.sources.append(src)
        return src

    @hookimpl
    def flow_venues(self) -> list[VenueSpec]:
        return [VenueSpec(name="toy", make_normalizer=lambda cfg: ToyNormalizer(),
                          make_live_source=self._source)]

    @hookimpl
    def flow_detectors(self) -> list[DetectorSpec]:
        return [DetectorSpec(name="big_trade", factory=lambda cfg: BigTrade())]


def make_pm(plugin: ToyPlugin) -> PluginManager:
    pm = PluginManager(load_entrypoints=False)
    pm.register(sqlite_plugin, name="sqlite")
    pm.register(plugin, name="toy")
    return pm


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "flow.toml"
    path.write_text(f"""
[venues.toy]

[stores]
flow = "{tmp_path}/flow.db"
audit = "{tmp_path}/audit.db"

[daemon]
data_dir = "{tmp_path}/data"
status_interval_s = 0.1
flush_interval_s = 0.1
chain_verify_interval_s = 0.2
restart_min_s = 0.05
restart_max_s = 0.2
{extra}
""")
    return path


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    setup_logging(logging.WARNING)
    for h in list(logging.getLogger().handlers):
        if getattr(h, "_horizon_flow_root", False):
            logging.getLogger().removeHandler(h)


def wait_for(pred: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def drive(daemon: FlowDaemon, steps: Callable[[], None]) -> tuple[int, list[BaseException]]:
    """Run the daemon in this (main) thread while ``steps`` runs in another; it must stop it."""
    errors: list[BaseException] = []

    def driver() -> None:
        try:
            steps()
        except BaseException as exc:  # surfaced after the daemon stopped
            errors.append(exc)
            daemon.stop_threadsafe("test cleanup")

    t = threading.Thread(target=driver)
    t.start()
    code = daemon.run()
    t.join(10)
    return code, errors


def audit_records(tmp_path: Path) -> list[Any]:
    sink = sqlite_plugin.open_audit_sink(str(tmp_path / "audit.db"))
    try:
        return list(sink.records())
    finally:
        sink.close()


def stored_findings(tmp_path: Path) -> list[AnomalyFinding]:
    store = sqlite_plugin.open_flow_store(str(tmp_path / "flow.db"))
    try:
        return list(store.findings(FindingQuery()))
    finally:
        store.close()


def test_sighup_reopens_logs_and_sigterm_drains_and_exits_zero(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path, f'[logging]\nfile = "{tmp_path}/flow.log"\n')
    pm = make_pm(ToyPlugin())
    daemon = FlowDaemon(load_config(cfg_path, pm), pm)
    daemon.build()
    runner = daemon.runners[0]
    log_file = tmp_path / "flow.log"
    rotated = tmp_path / "flow.log.1"
    feeds: list[Path] = []

    def steps() -> None:
        assert wait_for(lambda: daemon.state == "running" and runner.events_ingested == 3)
        feed = runner.recorder.path  # type: ignore[union-attr]
        assert feed is not None and feed.exists()
        feeds.append(feed)
        log_file.rename(rotated)  # what logrotate does
        feed.rename(tmp_path / "feed.moved")
        frames_before = runner.frames
        os.kill(os.getpid(), signal.SIGHUP)
        assert wait_for(lambda: log_file.exists() and feed.exists()
                        and runner.frames > frames_before + 2)
        os.kill(os.getpid(), signal.SIGTERM)

    code, errors = drive(daemon, steps)
    assert not errors, errors
    assert code == 0
    assert "start-up" in rotated.read_text()
    assert "SIGHUP: reopened the log file and 1 feed log" in log_file.read_text()
    assert "SIGTERM received" in log_file.read_text()
    moved = [loads(x) for x in (tmp_path / "feed.moved").read_bytes().splitlines()]
    assert [m["frame"] for m in moved[:4]] == FRAMES
    reopened = feeds[0].read_bytes().splitlines()
    assert reopened and all(loads(x)["frame"] == "HB" for x in reopened)
    findings = stored_findings(tmp_path)
    assert sorted(f.evidence["size"] for f in findings) == [12.0, 30.0]
    records = audit_records(tmp_path)
    cats = [r.category for r in records]
    assert cats[0] == "run.started" and cats[-1] == "run.finished"
    assert cats.count("flow.anomaly") + cats.count("flow.bot_detected") == 2
    assert records[-1].payload["events"] == 3 and records[-1].payload["rejects"] == 1
    assert verify_chain(records)[1] is None
    status = loads((tmp_path / "data/flow.status.json").read_bytes())
    assert status["state"] == "stopped" and status["venues"]["toy"]["source_state"] == "stopped"


def test_failing_source_is_restarted_and_sigint_stops(tmp_path: Path) -> None:
    plugin = ToyPlugin(fail_after=2)
    pm = make_pm(plugin)
    daemon = FlowDaemon(load_config(write_config(tmp_path), pm), pm, configure_logging=False)
    daemon.build()
    runner = daemon.runners[0]

    def steps() -> None:
        assert wait_for(lambda: runner.restarts == 1 and runner.events_ingested >= 5)
        assert runner.state == "running"
        assert "venue hung up" in (runner.last_error or "")
        os.kill(os.getpid(), signal.SIGINT)

    code, errors = drive(daemon, steps)
    assert not errors, errors
    assert code == 0
    assert plugin.sources[0].runs == 2  # the same source object, run again
    metrics = daemon.registry.render()
    assert 'flow_component_errors_total{component="source:toy"} 1' in metrics
    errors_audited = [r.payload for r in audit_records(tmp_path)
                      if r.category == "component.error"]
    assert errors_audited and errors_audited[0]["component"] == "source:toy"
    # both runs of the source sent the first two frames; the finding is stored once
    assert [f.evidence["size"] for f in stored_findings(tmp_path)].count(12.0) == 1


def test_unclean_previous_run_is_resumed_without_duplicates(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path)
    pm = make_pm(ToyPlugin())
    first = FlowDaemon(load_config(cfg_path, pm), pm, configure_logging=False)
    first.build()

    def stop_when_done() -> None:
        assert wait_for(lambda: first.state == "running"
                        and first.runners[0].events_ingested == 3)
        os.kill(os.getpid(), signal.SIGTERM)

    assert drive(first, stop_when_done) == (0, [])
    findings_before = {f.id for f in stored_findings(tmp_path)}
    assert len(findings_before) == 2

    # a second run that died hard: run.started (and a store run) but no run.finished
    log = AuditLog(sqlite_plugin.open_audit_sink(str(tmp_path / "audit.db")),
                   clock=time.time_ns)
    crashed = log.record("run.started", {"mode": "run", "run_id": "crashed-run"})
    log.close()
    store = sqlite_plugin.open_flow_store(str(tmp_path / "flow.db"))
    store.begin_run(RunInfo(run_id="crashed-run", mode="run", config_hash="x", feed=None,
                            feed_sha256=None, plugins={}, started_wall_ns=crashed.ts))
    store.close()

    pm3 = make_pm(ToyPlugin())
    third = FlowDaemon(load_config(cfg_path, pm3), pm3, configure_logging=False)
    third.build()
    assert third.previous is not None and not third.previous.finished
    assert "RESUMING" in third.banner()

    def stop_again() -> None:
        assert wait_for(lambda: third.state == "running"
                        and third.runners[0].events_ingested == 3)
        os.kill(os.getpid(), signal.SIGTERM)

    before_restart = time.time_ns()
    assert drive(third, stop_again) == (0, [])
    records = audit_records(tmp_path)
    resumed = [r for r in records if r.category == "run.resumed"]
    assert len(resumed) == 1
    p = resumed[0].payload
    assert p["previous_run_id"] == "crashed-run" and p["previous_last_ts"] == crashed.ts
    assert p["restart_ts"] >= before_restart and p["gap_ns"] == p["restart_ts"] - crashed.ts
    # the same frames found the same findings: stored once, audited once
    assert {f.id for f in stored_findings(tmp_path)} == findings_before
    anomalies = [r for r in records if r.category in ("flow.anomaly", "flow.bot_detected")]
    assert len(anomalies) == 2
    assert verify_chain(records)[1] is None
    store = sqlite_plugin.open_flow_store(str(tmp_path / "flow.db"))
    try:
        assert store.run("crashed-run")["status"] == "interrupted"
        assert store.verify() == []
    finally:
        store.close()
