"""``flow alerts test|list|retry`` through typer, and once through the real ``flow`` binary."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from horizon_flow_alert_apprise import cli, plugin
from horizon_flow_alert_apprise.deadletters import JsonlDeadLetters
from horizon_flow_alert_apprise.router import AppriseRouter
from typer.testing import CliRunner

from horizon_flow_core import AnomalyFinding
from horizon_flow_core.config import load_config
from horizon_flow_core.testing.plugins import isolated_plugin_manager

SECRET = "zz9plural-z-alpha"


@pytest.fixture
def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def root() -> None:
        """flow"""

    cli.register(a)
    return a


def config(tmp_path: Path, **extra: str) -> Path:
    text = ("[alerts.routes.desk]\nurl_env = \"DESK_URL\"\nretries = 0\n"
            "[alerts.routes.email]\nurl_env = [\"MAIL_URL\"]\ncategories = [\"wash_trade\"]\n")
    for k, v in extra.items():
        text += f"{k} = {v}\n"
    p = tmp_path / "flow.toml"
    p.write_text(text)
    return p


def run(app: typer.Typer, args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, args, env=env)


def test_alerts_test_sends_a_synthetic_critical_finding(app: typer.Typer, tmp_path: Path,
                                                        http_sink: Any) -> None:
    env = {"DESK_URL": f"json://127.0.0.1:{http_sink.port}/{SECRET}"}
    res = run(app, ["alerts", "test", "--route", "desk", "--config", str(config(tmp_path))], env)
    assert res.exit_code == 0, res.output
    assert "route desk: test alert delivered to DESK_URL[0] (json://)" in res.output
    (req,) = http_sink.requests
    assert req["body"]["title"] == "[CRITICAL] alerts.test: flow-alerts-test on test/TEST-MARKET"
    assert "synthetic critical finding sent by `flow alerts test`" in req["body"]["message"]
    assert req["body"]["type"] == "failure"
    assert SECRET not in res.output


def test_alerts_test_fails_loudly_without_showing_the_url(app: typer.Typer, tmp_path: Path,
                                                          closed_port: Any) -> None:
    cfg = str(config(tmp_path))
    env = {"DESK_URL": f"json://u:{SECRET}@127.0.0.1:{closed_port.port}/{SECRET}"}
    res = run(app, ["alerts", "test", "--route", "desk", "--config", cfg], env)
    assert res.exit_code == 1
    assert "route desk: test alert NOT delivered after 1 attempt(s)" in res.output
    assert "Connection error" in res.output and SECRET not in res.output
    res = run(app, ["alerts", "test", "--route", "pager", "--config", cfg], env)
    assert res.exit_code == 1 and "no alert route 'pager' (routes: desk, email)" in res.output
    res = run(app, ["alerts", "test", "--route", "email", "--config", cfg], {})
    assert res.exit_code == 1
    assert "environment variable MAIL_URL is not set" in res.output
    res = run(app, ["alerts", "test", "--route", "desk"], env)
    assert res.exit_code == 1 and "pass --config FILE" in res.output


def test_bad_config_is_one_line_and_exit_2(app: typer.Typer, tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(f'[alerts.routes.desk]\nurl_env = "json://x:{SECRET}@h/p"\n')
    res = run(app, ["alerts", "list", "--config", str(p)], {})
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0
    assert "alerts.routes.desk: url_env: a value looks like a URL" in res.output
    assert SECRET not in res.output


def _dead_letter_one(tmp_path: Path, cfg_path: Path, port: int, store: Any) -> None:
    cfg = load_config(cfg_path, isolated_plugin_manager(plugin))
    router = AppriseRouter(cfg.section("alerts.routes"),
                           environ={"DESK_URL": f"json://127.0.0.1:{port}/d"}, store=store,
                           data_dir=tmp_path)
    router.notify_finding(AnomalyFinding.make(
        detector="spoofing", category="spoofing", severity="critical", confidence=0.95,
        venue="polymarket", market_id="0xm", actor_id="0xa", ts=1_732_201_200_000_000_000,
        message="bait cancelled", citation="CFTC v. Sarao", evidence={"bait": 1.0},
    ).with_identity(seq=1), None)
    router.close(5)


def test_list_and_retry_with_the_jsonl_dead_letters(app: typer.Typer, tmp_path: Path,
                                                    closed_port: Any,
                                                    make_http_sink: Any) -> None:
    cfg = config(tmp_path)
    _dead_letter_one(tmp_path, cfg, closed_port.port, None)
    env = {"DESK_URL": f"json://127.0.0.1:{closed_port.port}/d"}
    data = ["--data-dir", str(tmp_path)]
    res = run(app, ["alerts", "list", "--config", str(cfg), *data, "--json"], env)
    assert res.exit_code == 0, res.output
    rows = {r["route"]: r for r in orjson.loads(res.output)}
    assert rows["desk"]["dead_letters_pending"] == 1 and rows["desk"]["failed"] == 1
    assert rows["desk"]["targets"] == ["DESK_URL[0] (json://)"]
    assert rows["email"]["problems"] == ["environment variable MAIL_URL is not set"]
    table = run(app, ["alerts", "list", "--config", str(cfg), *data], env).output
    assert table.splitlines()[0].split() == ["ROUTE", "ON", "TARGETS", "SENT", "FAILED",
                                             "DEDUPED", "DEAD", "RESENT"]
    assert "! email: environment variable MAIL_URL is not set" in table

    # still down: retry fails, exit 1, the dead letter stays
    res = run(app, ["alerts", "retry", "--config", str(cfg), *data], env)
    assert res.exit_code == 1 and "resent 0, failed 1" in res.output
    sink = make_http_sink(port=closed_port.release())
    res = run(app, ["alerts", "retry", "--config", str(cfg), *data, "--route", "desk"], env)
    assert res.exit_code == 0, res.output
    assert "resent 1, failed 0, skipped 0" in res.output
    assert sink.requests[0]["body"]["title"].startswith("[CRITICAL] spoofing: 0xa")
    store = JsonlDeadLetters(tmp_path / "alerts" / "dead_letters.jsonl")
    assert store.dead_letters() == [] and len(store.dead_letters(include_resent=True)) == 1


def test_retry_against_the_sqlite_store_by_path(app: typer.Typer, tmp_path: Path,
                                                closed_port: Any, make_http_sink: Any) -> None:
    sqlite_store = pytest.importorskip("horizon_flow_store_sqlite.flow_store")
    db = tmp_path / "flow.db"
    cfg = config(tmp_path)
    store = sqlite_store.SQLiteFlowStore(db)
    _dead_letter_one(tmp_path, cfg, closed_port.port, store)
    store.close()
    env = {"DESK_URL": f"json://127.0.0.1:{closed_port.port}/d"}
    res = run(app, ["alerts", "retry", "--config", str(cfg), "--db", str(db)], env)
    assert res.exit_code == 1
    store = sqlite_store.SQLiteFlowStore(db)
    (dl,) = store.dead_letters()
    assert dl["attempts"] == 2  # the failed resend was counted by the store
    store.close()
    sink = make_http_sink(port=closed_port.release())
    res = run(app, ["alerts", "retry", "--config", str(cfg), "--db", str(db)], env)
    assert res.exit_code == 0, res.output
    assert len(sink.requests) == 1
    res = run(app, ["alerts", "list", "--config", str(cfg), "--db", str(db), "--json"], env)
    rows = {r["route"]: r for r in orjson.loads(res.output)}
    assert rows["desk"]["dead_letters_resent"] == 1 and rows["desk"]["dead_letters_pending"] == 0


def test_the_real_flow_binary_has_the_alerts_commands(tmp_path: Path, http_sink: Any) -> None:
    flow = shutil.which("flow", path=str(Path(sys.executable).parent))
    if flow is None:
        pytest.skip("the flow entry point is not installed in this environment")
    env = dict(os.environ, DESK_URL=f"json://127.0.0.1:{http_sink.port}/bin")
    proc = subprocess.run([flow, "alerts", "test", "--route", "desk", "--config",
                           str(config(tmp_path))], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "test alert delivered" in proc.stdout
    assert http_sink.requests[0]["path"] == "/bin"
