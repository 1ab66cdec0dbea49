"""deploy/ and docs/operations.md: the example config loads, the units verify, the backup
script works on a real store, and the runbook's restore drill runs as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from horizon_flow_core.components import FindingQuery
from horizon_flow_core.config import load_config
from horizon_flow_core.plugin_manager import get_plugin_manager
from horizon_flow_core.runner import run_scan

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
RUNBOOK = REPO / "docs" / "operations.md"
FLOW = Path(sys.executable).with_name("flow")
WASHER = "0xaaaa000000000000000000000000000000000001"


def needs_plugins() -> None:
    for mod in ("horizon_flow_store_sqlite", "horizon_flow_venue_hyperliquid",
                "horizon_flow_venue_kalshi", "horizon_flow_venue_polymarket",
                "horizon_flow_alert_apprise", "horizon_flow_detectors_builtin"):
        pytest.importorskip(mod)


def test_example_config_is_valid_and_secret_free() -> None:
    needs_plugins()
    cfg = load_config(DEPLOY / "flow.toml", get_plugin_manager())
    assert sorted(n for n, v in cfg.venues.items() if v is not None) == [
        "hyperliquid", "kalshi", "polymarket"]
    assert cfg.section("metrics").host == "127.0.0.1"
    assert cfg.section("logging").format == "json"
    text = (DEPLOY / "flow.toml").read_text()
    assert not re.search(r"(?i)(://[^\"\s]*@|api[_-]?key\s*=|password|token\s*=)", text)
    env_names = set(re.findall(r'url_env = "([A-Z_]+)"', text))
    example = (DEPLOY / "secrets.env.example").read_text()
    assert env_names and all(f"\n{name}=" in example for name in env_names)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("unit", ["horizon-flow.service", "horizon-flow-backup.service",
                                  "horizon-flow-backup.timer"])
def test_systemd_units_verify(unit: str, tmp_path: Path) -> None:
    copy = tmp_path / unit
    copy.write_text((DEPLOY / unit).read_text())
    if unit.endswith(".timer"):  # a timer is verified with its service beside it
        (tmp_path / "horizon-flow-backup.service").write_text(
            (DEPLOY / "horizon-flow-backup.service").read_text())
    proc = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True,
                          text=True, timeout=60)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines()
                if line.strip() and "is not executable" not in line
                and "No such file or directory" not in line]
    assert not problems, problems


def make_deployment(root: Path) -> str:
    """A deploy root with a real store and audit log (a scanned recording) and feed logs."""
    needs_plugins()
    (root / "config").mkdir(parents=True)
    (root / "data" / "feeds" / "hyperliquid").mkdir(parents=True)
    shutil.copy(DEPLOY / "flow.toml", root / "config" / "flow.toml")
    t0 = 1_700_000_000_000
    lines = []
    for i in range(1, 7):
        users = [WASHER, WASHER] if i in (2, 5) else [f"0x{i:040x}", WASHER]
        frame = {"channel": "trades", "data": [{
            "coin": "BTC", "side": "B", "px": f"{100 + i}.5", "sz": "0.5",
            "hash": f"0x{i:064x}", "time": t0 + i * 90_000, "tid": i, "users": users}]}
        lines.append(json.dumps({"venue": "hyperliquid", "recv_ts": (t0 + i * 90_000) * 10**6,
                                 "frame": frame}))
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    feed = root / "data" / "feeds" / "hyperliquid" / f"{yesterday}.jsonl"
    feed.write_text("\n".join(lines) + "\n")
    summary = run_scan(feed, db=str(root / "data/flow.db"), audit_db=str(root / "data/audit.db"),
                       venue="hyperliquid", rejects_path=root / "rejects.jsonl")
    assert summary.findings >= 1
    return yesterday


def backup_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DEPLOY_ROOT=str(root), FLOW=str(FLOW),
               PATH=f"{FLOW.parent}{os.pathsep}{env.get('PATH', '')}")
    return env


@pytest.mark.skipif(not FLOW.exists(), reason="no flow script beside this interpreter")
def test_backup_script_and_the_runbooks_restore_drill(tmp_path: Path) -> None:
    root = tmp_path / "horizon-flow"
    day = make_deployment(root)
    proc = subprocess.run(["bash", str(DEPLOY / "backup.sh")], env=backup_env(root),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    archives = sorted((root / "backups").glob("*.tar.gz"))
    assert len(archives) == 1
    with tarfile.open(archives[0]) as tar:
        names = sorted(n.split("/", 1)[1] for n in tar.getnames() if "/" in n)
    assert names == ["SHA256SUMS", "audit.db", "feeds", "feeds/hyperliquid",
                     f"feeds/hyperliquid/{day}.jsonl.gz", "flow.db", "flow.toml"]

    drill = re.search(r"<!-- restore-drill -->\n```bash\n(.*?)```\n<!-- /restore-drill -->",
                      RUNBOOK.read_text(), re.S)
    assert drill is not None, "the runbook's restore drill block is missing"
    scratch = tmp_path / "cold-host"
    scratch.mkdir()
    env = backup_env(root) | {"ARCHIVE": str(archives[0]), "SCRATCH": str(scratch),
                              "ACTOR": WASHER}
    run = subprocess.run(["bash", "-c", drill.group(1)], env=env, capture_output=True,
                         text=True, timeout=180, cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "passes integrity, WORM and count checks" in out
    assert "chain intact" in out
    assert "findings in both; 0 only in A" in out
    import horizon_flow_store_sqlite.plugin as sqlite_plugin

    restored = sqlite_plugin.open_flow_store(str(next(scratch.glob("20*")) / "flow.db"))
    replayed = sqlite_plugin.open_flow_store(str(scratch / "replay-hyperliquid.db"))
    try:
        assert {f.id for f in replayed.findings(FindingQuery())} == {
            f.id for f in restored.findings(FindingQuery())}
    finally:
        restored.close()
        replayed.close()


@pytest.mark.skipif(not FLOW.exists(), reason="no flow script beside this interpreter")
def test_backup_script_fails_loudly_on_a_broken_store(tmp_path: Path) -> None:
    root = tmp_path / "horizon-flow"
    make_deployment(root)
    (root / "data" / "flow.db").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (root / "data" / f"flow.db{suffix}").unlink(missing_ok=True)
    proc = subprocess.run(["bash", str(DEPLOY / "backup.sh")], env=backup_env(root),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "error:" in proc.stderr
    assert not list((root / "backups").glob("*.tar.gz"))
