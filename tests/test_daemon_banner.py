"""The start-up banner and the daemon's logging never show a secret."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from horizon_flow_core.config import load_config
from horizon_flow_core.daemon.banner import BannerFacts, VenueLine, banner_lines, render_banner
from horizon_flow_core.daemon.config import LoggingConfig
from horizon_flow_core.daemon.logsetup import DaemonLogging
from horizon_flow_core.errors import ConfigError
from horizon_flow_core.jsonio import loads
from horizon_flow_core.logs import setup_logging

SECRET_PATH = "v2/sk-live-4f9a8b7c6d5e"
WEBHOOK = "json://alerts:hunter2hunter2@hooks.example.com/T000/B000/XXXXXXXX"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    setup_logging(logging.WARNING)
    for h in list(logging.getLogger().handlers):
        if getattr(h, "_horizon_flow_root", False):
            logging.getLogger().removeHandler(h)


class Route:
    url_env = ("DESK_WEBHOOK_URL",)
    categories = ("spoofing", "feed.*")
    severity_min = "high"
    enabled = True


def facts(**over: object) -> BannerFacts:
    base: dict[str, object] = dict(
        pid=1234, config_path="/etc/flow/flow.toml", config_hash="ab" * 32, run_id="r1",
        plugins=[("horizon-flow", "0.1.0", "active"), ("hyperliquid", "0.1.0", "active"),
                 ("broken", "0.1.0", "failed")],
        detectors=["spoofing", "wash_trade"], profilers=["kirilenko"],
        venues=[VenueLine("polymarket", "horizon-flow-venue-polymarket",
                          f"wss://polygon-mainnet.example.com/{SECRET_PATH}", "polymarket")],
        flow_store="postgresql://flow:dbpassw0rd@db.internal/flow", audit_store="data/audit.db",
        routes={"desk": Route()}, feeds_dir="data/feeds", status_file="data/flow.status.json",
        metrics_url="http://127.0.0.1:9464/metrics", textfile=None)
    base.update(over)
    return BannerFacts(**base)  # type: ignore[arg-type]


def test_banner_shows_the_facts_on_one_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_WEBHOOK_URL", WEBHOOK)
    text = render_banner(facts())
    lines = text.splitlines()
    assert len(lines) <= 24 and max(len(x) for x in lines) <= 200
    assert "pid 1234" in lines[1] and "run r1" in lines[1]
    assert any("not loaded: broken (failed)" in x for x in lines)
    assert any("detectors: spoofing, wash_trade; profilers: kirilenko" == x for x in lines)
    assert ("alert route desk (url from $DESK_WEBHOOK_URL; categories spoofing, feed.*; "
            "severity >= high)") in lines
    venue = next(x for x in lines if x.startswith("venue polymarket"))
    assert venue.startswith("venue polymarket (horizon-flow-venue-polymarket), engine "
                            "polymarket: wss://polygon-mainnet.example.com/")
    stores = next(x for x in lines if x.startswith("stores:"))
    assert "postgresql://" in stores and "db.internal" in stores
    assert stores.endswith(" ; audit data/audit.db")
    assert any("http://127.0.0.1:9464 (/metrics)" in x for x in lines)
    assert any("data/feeds/<venue>/<UTC date>.jsonl" in x for x in lines)


def test_banner_redacts_urls_passwords_and_env_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_WEBHOOK_URL", WEBHOOK)
    monkeypatch.setenv("POLYGON_RPC_URL", f"https://polygon-mainnet.example.com/{SECRET_PATH}")
    monkeypatch.setenv("KALSHI_API_KEY_ID", "a952bcbe-ec3b-4b5b-b8f9-11dae589608c")
    text = render_banner(facts(config_path="/etc/flow/a952bcbe-ec3b-4b5b-b8f9-11dae589608c"))
    for secret in ("sk-live-4f9a8b7c6d5e", "dbpassw0rd", "hunter2", "T000/B000",
                   "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"):
        assert secret not in text
    assert "wss://polygon-mainnet.example.com/" in text  # scheme and host stay readable
    assert "@db.internal" in text


def test_banner_says_when_feeds_are_not_recorded_and_when_resuming() -> None:
    lines = banner_lines(facts(feeds_dir=None, metrics_url=None, resumed="RESUMING after x",
                               routes={}))
    assert "alert routes: none" in lines
    assert any("OFF (live findings cannot be replayed)" in x for x in lines)
    assert any(x.startswith("metrics: off") for x in lines)
    assert lines[-1] == "RESUMING after x"


def test_third_party_loggers_are_redacted_in_the_log_file(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-1234567890abcdef")
    log_file = tmp_path / "flow.log"
    DaemonLogging(LoggingConfig(format="json", file=str(log_file)))
    logging.getLogger("websockets.client").warning(
        "connection to wss://node.example.com/%s?api_key=abc123secret failed", SECRET_PATH)
    logging.getLogger("urllib3.connectionpool").error("POST %s -> 500", WEBHOOK)
    logging.getLogger("horizon_flow.venue.x").warning("token tok-1234567890abcdef refused")
    logging.getLogger("horizon_flow.detectors.spoofing").info("not shown: detectors at WARNING")
    logging.getLogger("horizon_flow.engine").info("engine at INFO")
    logging.getLogger("websockets.client").info("third-party INFO is not shown")
    records = [loads(x) for x in log_file.read_bytes().splitlines()]
    text = log_file.read_text()
    for secret in ("sk-live", "abc123secret", "hunter2", "T000", "tok-1234567890abcdef"):
        assert secret not in text
    assert [r["logger"] for r in records] == ["websockets.client", "urllib3.connectionpool",
                                              "horizon_flow.venue.x", "horizon_flow.engine"]
    assert "<MY_SERVICE_TOKEN>" in records[2]["message"]
    assert records[0]["level"] == "warning"


def test_plain_format_to_a_stream_and_reopen_is_a_no_op() -> None:
    stream = io.StringIO()
    logs = DaemonLogging(LoggingConfig(), stream=stream)
    logging.getLogger("horizon_flow.daemon").info("hello %s", "world")
    assert "INFO horizon_flow.daemon hello world" in stream.getvalue()
    assert logs.reopen() is False


@pytest.mark.parametrize(("toml", "message"), [
    ("[metrics]\nhost = \"0.0.0.0\"\n", "not a loopback address"),
    ("[metrics]\nport = 70000\n", "metrics: port must be -1"),
    ("[logging]\nformat = \"xml\"\n", "format must be \"plain\" or \"json\", got 'xml'"),
    ("[logging]\nlevels = { \"requests\" = \"INFO\" }\n", "only horizon_flow.* loggers"),
    ("[daemon]\nqueue_size = 0\n", "queue_size must be > 0"),
    ("[daemon]\nvenues = \"kalshi\"\n", "venues: expected a list of names like"),
    ("[daemon]\nrestart_min_s = 10\nrestart_max_s = 1\n", "restart_max_s"),
    ("[daemon]\nstatus_every = 3\n", "daemon.status_every: unknown key"),
])
def test_daemon_config_errors_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    from horizon_flow_core.plugin_manager import PluginManager

    path = tmp_path / "flow.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_config(path, PluginManager(load_entrypoints=False))
    assert message in str(err.value) and str(path) in str(err.value)
