"""With the core: the config loader structures the routes, the engine feeds the router."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from horizon_flow_alert_apprise import plugin
from horizon_flow_alert_apprise.router import AppriseRouter

from horizon_flow_core import AnomalyFinding
from horizon_flow_core.audit.chain import AuditLog, MemoryAuditSink
from horizon_flow_core.components import Runtime
from horizon_flow_core.config import load_config
from horizon_flow_core.engine import FlowEngine
from horizon_flow_core.errors import ConfigError
from horizon_flow_core.testing.feed import FeedBuilder
from horizon_flow_core.testing.plugins import isolated_plugin_manager

CONFIG = """
[alerts]
severity_floor = "High"

[alerts.routes.desk]
url_env = "DESK_URL"
categories = ["big_cancel"]
dedupe_window_s = 0
retries = 0

[alerts.routes.ops]
url_env = ["OPS_URL"]
categories = ["feed.*", "store.error"]
retries = 0
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "flow.toml"
    p.write_text(text)
    return p


def test_core_loader_structures_routes(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, CONFIG), isolated_plugin_manager(plugin))
    routes = cfg.section("alerts.routes")
    assert sorted(routes) == ["desk", "ops"]
    assert routes["desk"].url_env == ("DESK_URL",)  # a bare name is not split into letters
    assert routes["ops"].categories == ("feed.*", "store.error")
    assert cfg.alerts.severity_floor == "high"


@pytest.mark.parametrize("table, needles", [
    ('url_env = "https://hooks.example.com/services/SECRET123"', ["alerts.routes.x",
                                                                  "looks like a URL"]),
    ('url = "json://a/b"', ["alerts.routes.x.url", "unknown key"]),
    ('rate_limit = "ten"', ["alerts.routes.x.rate_limit", "expected an integer"]),
    ('windows = ["9am-5pm"]', ["alerts.routes.x", "HH:MM-HH:MM"]),
    ('title_template = "{who}"', ["alerts.routes.x", "unknown field {who}"]),
    ('categories = "spoofing"', ["alerts.routes.x", "split into characters"]),
])
def test_core_loader_errors_name_file_and_key(tmp_path: Path, table: str,
                                              needles: list[str]) -> None:
    path = write(tmp_path, f"[alerts.routes.x]\n{table}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, isolated_plugin_manager(plugin))
    text = str(err.value)
    assert str(path) in text and "\n" not in text
    for n in needles:
        assert n in text
    assert "SECRET123" not in text


def test_factory_returns_none_without_routes_and_reads_the_floor(tmp_path: Path) -> None:
    pm = isolated_plugin_manager(plugin)
    assert AppriseRouter.from_runtime(Runtime(config=load_config(None, pm))) is None
    cfg = load_config(write(tmp_path, CONFIG), pm)
    router = AppriseRouter.from_runtime(Runtime(config=cfg, data_dir=tmp_path))
    assert router is not None
    try:
        assert sorted(router.policies) == ["desk", "ops"]
        assert router.policies["desk"].severity_floor == "high"
        assert router.repro.config_path == str(tmp_path / "flow.toml")
    finally:
        router.close(1)


class BigCancel:
    name = "big_cancel"
    kinds = frozenset({"order.canceled"})

    def on_event(self, ev: Any, ctx: Any) -> list[AnomalyFinding] | None:
        if (ev.size or 0) >= 1000:
            return [AnomalyFinding.make(
                detector=self.name, category="big_cancel", severity="high", confidence=0.8,
                market_id=ev.market_id, actor_id=ev.actor_id, message=f"cancelled {ev.size}",
                citation="house rule 7", evidence={"size": ev.size, "order_id": ev.order_id})]
        return None


def test_engine_delivers_findings_and_feed_gaps(tmp_path: Path, http_sink: Any,
                                                monkeypatch: Any) -> None:
    monkeypatch.setenv("DESK_URL", f"json://127.0.0.1:{http_sink.port}/desk")
    monkeypatch.setenv("OPS_URL", f"json://127.0.0.1:{http_sink.port}/ops")
    pm = isolated_plugin_manager(plugin)
    cfg = load_config(write(tmp_path, CONFIG), pm)
    audit = AuditLog(MemoryAuditSink())
    (spec,) = pm.alert_router_specs()
    router = spec.factory(Runtime(config=cfg, audit=audit, data_dir=tmp_path))
    engine = FlowEngine(cfg, detectors=[BigCancel()], audit=audit, alert_sinks=[router])
    fb = FeedBuilder(venue="test", market="M")
    oid = fb.place("whale", "buy", 0.5, 5000)
    fb.advance(100).cancel("whale", oid, 5000)
    small = fb.place("minnow", "buy", 0.5, 10)
    fb.advance(100).cancel("minnow", small, 10)
    fb.advance(100).gap(gap_s=12)
    engine.run(fb.events)
    engine.close(alert_timeout_s=5)
    by_path = {r["path"]: r["body"] for r in http_sink.requests}
    assert sorted(by_path) == ["/desk", "/ops"]
    desk = by_path["/desk"]
    assert desk["title"] == "[HIGH] big_cancel: whale on test/M"
    assert "Evidence: order_id=o1, size=5000" in desk["message"]
    assert "Citation: house rule 7" in desk["message"]
    assert f"--config {tmp_path / 'flow.toml'}" in desk["message"]
    ops = by_path["/ops"]
    assert ops["title"] == "[HIGH] feed.gap: - on test/M"
    assert "gap_s=12" in ops["message"]
