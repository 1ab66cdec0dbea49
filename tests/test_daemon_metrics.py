"""Metrics of the daemon: collectors at render time, the loopback endpoint, the textfile."""

from __future__ import annotations

import queue
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from horizon_flow_core import AnomalyFinding, make_event
from horizon_flow_core.daemon.collectors import DaemonCollector, FindingCounter, StoreLatency
from horizon_flow_core.daemon.metrics_server import CONTENT_TYPE, MetricsServer, TextfileWriter
from horizon_flow_core.daemon.venue import VenueRunner
from horizon_flow_core.engine import FlowEngine
from horizon_flow_core.metrics import Registry

NS = 1_000_000_000
T0 = 1_780_000_000 * NS


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


class BigTrade:
    """Flags every trade of size >= 10, as high severity."""

    name = "big_trade"
    kinds = frozenset({"trade.tape"})

    def on_event(self, ev: Any, ctx: Any) -> list[AnomalyFinding] | None:
        if (ev.size or 0) < 10:
            return None
        return [AnomalyFinding.make(detector=self.name, category="big_trade",
                                    severity="high" if ev.size >= 20 else "low",
                                    confidence=0.9, market_id=ev.market_id,
                                    evidence={"size": ev.size})]


class Exploding:
    name = "exploding"
    kinds = frozenset({"trade.tape"})

    def on_event(self, ev: Any, ctx: Any) -> None:
        raise RuntimeError("boom")


def parse(text: str) -> dict[str, float]:
    """Prometheus text -> {'name{labels}': value} (comments skipped)."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_registry_collector_runs_at_render_and_failures_are_isolated() -> None:
    reg = Registry()
    kept = {"n": 3}
    reg.add_collector(lambda r: r.counter("things_total", "things").set_total(kept["n"], k="a"))
    reg.add_collector(lambda r: 1 / 0)  # a broken collector must not break the scrape
    reg.add_collector(lambda r: r.gauge("after_broken").set(1))
    assert parse(reg.render())['things_total{k="a"}'] == 3
    kept["n"] = 7
    samples = parse(reg.render())
    assert samples['things_total{k="a"}'] == 7 and samples["after_broken"] == 1


def test_collector_reads_engines_runners_and_routes() -> None:
    clock = Clock()
    findings = FindingCounter()
    engine = FlowEngine(detectors=[BigTrade(), Exploding()], venue="toy")
    engine.on_finding(findings)
    q: queue.Queue[Any] = queue.Queue(maxsize=8)
    runner = VenueRunner("toy", object(), q, clock=clock)
    ctx = runner.context()

    class Counters:
        failed = 2
        sent = 5

    class Router:
        name = "apprise"
        counters = {"desk": Counters()}

    reg = Registry()
    reg.add_collector(DaemonCollector([runner], [("toy", engine)], [findings], None, [Router()],
                                      clock, lambda: {"source:toy": 1}))
    ctx.record_frame({"p": 1}, T0)
    ctx.metric("reconnects", venue="toy")
    ctx.metric("toy_reconnects")  # a venue prefixing its own name counts the same
    ctx.metric("frames_weird-name", 2.0, venue="toy", shard="a")
    ctx.metric("toy_ws_reconnects_total", feed="market")  # counted as a reconnect
    ctx.metric("toy_rejects_total")  # counted by reject(), not twice
    ctx.reject("bad frame", "x")
    events = [make_event("toy", "M", "trade.tape", T0 + i * NS, price=0.5, size=s, side="buy")
              for i, s in enumerate([5.0, 12.0, 25.0])]
    ctx.emit(events)
    _, batch = q.get_nowait()
    for ev in batch:
        engine.ingest(ev)
    runner.events_ingested += len(batch)
    clock.now = T0 + 7 * NS
    s = parse(reg.render())
    assert s['flow_events_ingested_total{venue="toy"}'] == 3
    assert s['flow_frames_received_total{venue="toy"}'] == 1
    assert s['flow_reconnects_total{venue="toy"}'] == 3
    assert s['flow_rejects_total{venue="toy"}'] == 1
    assert s['flow_source_frames_weird_name_total{shard="a",venue="toy"}'] == 2
    assert s['flow_findings_total{category="big_trade",severity="high"}'] == 1
    assert s['flow_findings_total{category="big_trade",severity="low"}'] == 1
    assert s['flow_feed_last_frame_age_seconds{venue="toy"}'] == 7.0
    assert s['flow_feed_last_event_age_seconds{venue="toy"}'] == 7.0
    assert s['flow_component_errors_total{component="detector:exploding"}'] == 3
    assert s['flow_component_errors_total{component="source:toy"}'] == 1
    assert s['flow_component_quarantined{component="detector:exploding"}'] == 0
    assert s['flow_alerts_failed_total{route="desk"}'] == 2
    assert s['flow_queue_depth{venue="toy"}'] == 0 and s['flow_queue_capacity{venue="toy"}'] == 8


def test_store_latency_from_a_real_sqlite_store(tmp_path: Path) -> None:
    sqlite_plugin = pytest.importorskip("horizon_flow_store_sqlite.plugin")
    store = sqlite_plugin.open_flow_store(str(tmp_path / "flow.db"))
    latency = StoreLatency(store)
    assert latency.native
    reg = Registry()
    store.attach_metrics(reg)

    def collect(r: Registry) -> None:
        hist = r.histogram("flow_store_write_latency_seconds")
        for v in latency.drain():
            hist.observe(v)

    reg.add_collector(collect)
    f = AnomalyFinding.make(detector="d", category="c", severity="low", confidence=0.5,
                            market_id="m", venue="v", ts=T0).with_identity(seq=1)
    for _ in range(2):
        store.write_finding(f)
        store.flush()
    s = parse(reg.render())
    store.close()
    assert s["flow_store_write_latency_seconds_count"] == 2
    assert s['flow_store_write_latency_seconds_bucket{le="+Inf"}'] == 2
    assert s["flow_store_findings_written_total"] == 1  # the second write was the same id
    assert parse(reg.render())["flow_store_write_latency_seconds_count"] == 2  # not re-counted


def test_endpoint_serves_prometheus_text_on_loopback() -> None:
    reg = Registry()
    reg.counter("flow_events_ingested_total", "events").inc(4, venue="toy")
    server = MetricsServer(reg, "127.0.0.1", 0)
    server.start()
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(server.url, timeout=5) as resp:
            body = resp.read().decode()
            ctype = resp.headers["Content-Type"]
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/other", timeout=5)
        assert err.value.code == 404
    finally:
        server.stop()
    assert ctype == CONTENT_TYPE
    assert "# TYPE flow_events_ingested_total counter" in body
    assert parse(body)['flow_events_ingested_total{venue="toy"}'] == 4


def test_textfile_is_replaced_whole(tmp_path: Path) -> None:
    reg = Registry()
    c = reg.counter("flow_x_total")
    path = tmp_path / "textfile" / "flow.prom"
    writer = TextfileWriter(reg, path)
    stop = threading.Event()
    seen: list[str] = []

    def reader() -> None:  # a reader never sees a partial file
        while not stop.is_set():
            if path.exists():
                seen.append(path.read_text())

    t = threading.Thread(target=reader)
    t.start()
    for _ in range(50):
        c.inc()
        assert writer.write()
    stop.set()
    t.join()
    assert parse(path.read_text())["flow_x_total"] == 50
    assert seen and all(text.endswith("\n") and "flow_x_total " in text for text in seen)
    assert [p.name for p in path.parent.iterdir()] == ["flow.prom"]  # no temporary left


def test_textfile_write_error_is_counted(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    writer = TextfileWriter(Registry(), blocker / "flow.prom")
    assert writer.write() is False and writer.errors == 1
