"""Plugins as real installed distributions in fresh virtual environments.

Covers discovery, a plugin whose import raises, a detector that raises on
every event, two plugins claiming one detector name, an incompatible plugin
API, install order, and the core installed alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from horizon_flow_core.testing import FeedBuilder

from .conftest import Venv, write_plugin

pytestmark = pytest.mark.slow

GOOD = """
from horizon_flow_core import AnomalyFinding, DetectorSpec, hookimpl
HORIZON_FLOW_PLUGIN_API = 1

class CancelWatch:
    kinds = frozenset({"order.canceled"})
    def __init__(self, name):
        self.name = name
    def on_event(self, ev, ctx):
        return [AnomalyFinding.make(detector=self.name, category="quote_stuffing",
                severity="medium", confidence=0.5, market_id=ev.market_id,
                actor_id=ev.actor_id, message="cancel", citation="test",
                evidence={"order_id": ev.order_id})]

@hookimpl
def flow_detectors():
    return [DetectorSpec(name=NAME, factory=lambda cfg: CancelWatch(NAME))]
"""

RAISES_ON_IMPORT = """
raise RuntimeError("this plugin is broken on purpose")
"""

EXPLODES = """
from horizon_flow_core import DetectorSpec, hookimpl

class Explodes:
    name = "explodes"
    kinds = None
    def on_event(self, ev, ctx):
        raise ValueError("detector bug")

@hookimpl
def flow_detectors():
    return [DetectorSpec(name="explodes", factory=lambda cfg: Explodes())]
"""

FUTURE_API = """
from horizon_flow_core import DetectorSpec, hookimpl
HORIZON_FLOW_PLUGIN_API = 99

@hookimpl
def flow_detectors():
    return []
"""


def good(name: str) -> str:
    return f"NAME = {name!r}\n" + GOOD


@pytest.fixture(scope="module")
def plugin_src(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plugins")
    return {
        "alpha": write_plugin(root, "hf-test-alpha", "hf_test_alpha", good("alpha")),
        "beta": write_plugin(root, "hf-test-beta", "hf_test_beta", good("beta")),
        "broken": write_plugin(root, "hf-test-broken", "hf_test_broken", RAISES_ON_IMPORT),
        "explodes": write_plugin(root, "hf-test-explodes", "hf_test_explodes", EXPLODES),
        "future": write_plugin(root, "hf-test-future", "hf_test_future", FUTURE_API),
        "dup-a": write_plugin(root, "hf-test-dup-a", "hf_test_dup_a", good("dup")),
        "dup-b": write_plugin(root, "hf-test-dup-b", "hf_test_dup_b", good("dup")),
    }


@pytest.fixture(scope="module")
def feed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fb = FeedBuilder(step_ms=10)
    for i in range(20):
        oid = fb.place(f"actor{i % 3}", "buy", 0.5, 10 + i)
        fb.cancel(f"actor{i % 3}", oid)
    path = tmp_path_factory.mktemp("feeds") / "feed.jsonl"
    fb.write(path)
    with path.open("a") as fh:
        fh.write("this line is not json\n")
    return path


def listing(venv: Venv) -> dict[str, dict[str, object]]:
    out = venv.flow_cmd("plugins", "list", "--json")
    assert out.returncode == 0, out.stderr
    return {r["name"]: r for r in json.loads(out.stdout)}


def scan(venv: Venv, feed: Path, tmp: Path) -> dict[str, object]:
    out = venv.flow_cmd("scan", "--feed-log", str(feed), "--db", "memory://s",
                        "--audit-db", "memory://a", "--json", "--rejects",
                        str(tmp / "rejects.jsonl"))
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_core_alone_installs_and_runs(venv_factory: Callable[[str], Venv], core_wheel: Path,
                                      feed_file: Path, tmp_path: Path) -> None:
    venv = venv_factory("core-alone")
    venv.install(core_wheel)
    names = listing(venv)
    assert list(names) == ["horizon-flow"]
    assert "store:memory" in names["horizon-flow"]["provides"]
    assert all(p.startswith(("store:", "config_section:"))
               for p in names["horizon-flow"]["provides"])
    assert venv.flow_cmd("--help").returncode == 0
    # no web3, apprise or websockets came with the core
    probe = venv.run(str(venv.python), "-c",
                     "import importlib.util as u; print([m for m in "
                     "('web3','apprise','websockets','sqlite_utils') if u.find_spec(m)])")
    assert probe.stdout.strip() == "[]"
    summary = scan(venv, feed_file, tmp_path)
    assert summary["events"] == 40 and summary["findings"] == 0 and summary["rejects"] == 1


def test_discovery_isolation_and_quarantine(venv_factory: Callable[[str], Venv],
                                            core_wheel: Path, plugin_src: dict[str, Path],
                                            feed_file: Path, tmp_path: Path) -> None:
    venv = venv_factory("mixed")
    venv.install(core_wheel, plugin_src["alpha"], plugin_src["broken"], plugin_src["explodes"],
                 plugin_src["future"])
    names = listing(venv)
    assert names["hf-test-alpha"]["status"] == "active"
    assert names["hf-test-alpha"]["version"] == "1.0.0"
    assert names["hf-test-alpha"]["provides"] == ["detector:alpha"]
    assert names["hf-test-alpha"]["hooks"] == ["flow_detectors"]
    assert names["hf-test-broken"]["status"] == "failed"
    assert "this plugin is broken on purpose" in str(names["hf-test-broken"]["error"])
    assert names["hf-test-future"]["status"] == "incompatible"
    assert "plugin API 99" in str(names["hf-test-future"]["error"])
    assert "supports plugin API 1" in str(names["hf-test-future"]["error"])
    help_out = venv.flow_cmd("--help")
    assert help_out.returncode == 0 and "scan" in help_out.stdout

    summary = scan(venv, feed_file, tmp_path)
    # alpha fires on each of the 20 cancels although 'explodes' raises on every event
    assert summary["findings"] == 20
    comps = {c["name"]: c for c in summary["components"]}  # type: ignore[attr-defined]
    assert comps["explodes"]["quarantined"] is True
    assert comps["alpha"]["errors"] == 0
    rejects = (tmp_path / "rejects.jsonl").read_text().splitlines()
    assert len(rejects) == 1 and json.loads(rejects[0])["line"] == 41


def test_duplicate_detector_names_name_both(venv_factory: Callable[[str], Venv],
                                            core_wheel: Path, plugin_src: dict[str, Path],
                                            feed_file: Path) -> None:
    venv = venv_factory("dups")
    venv.install(core_wheel, plugin_src["dup-a"], plugin_src["dup-b"])
    names = listing(venv)
    for n in ("hf-test-dup-a", "hf-test-dup-b"):
        assert names[n]["status"] == "conflict"
        assert "hf-test-dup-a" in str(names[n]["error"])
        assert "hf-test-dup-b" in str(names[n]["error"])
    out = venv.flow_cmd("scan", "--feed-log", str(feed_file), "--db", "memory://x",
                        "--audit-db", "memory://y")
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: two plugins register the detector 'dup'")
    assert "hf-test-dup-a" in last and "hf-test-dup-b" in last
    # disabling one resolves it
    ok = venv.flow_cmd("scan", "--feed-log", str(feed_file), "--db", "memory://x",
                       "--audit-db", "memory://y", "--json",
                       env={"HORIZON_FLOW_PLUGINS_DISABLE": "hf-test-dup-b"})
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["findings"] == 20


def test_install_order_changes_nothing(venv_factory: Callable[[str], Venv], core_wheel: Path,
                                       plugin_src: dict[str, Path], feed_file: Path,
                                       tmp_path: Path) -> None:
    results = []
    for label, order in (("ab", ["alpha", "beta"]), ("ba", ["beta", "alpha"])):
        venv = venv_factory(f"order-{label}")
        venv.install(core_wheel)
        for name in order:  # one install command each, in this order
            venv.install(plugin_src[name])
        summary = scan(venv, feed_file, tmp_path)
        results.append(([c["name"] for c in summary["components"]  # type: ignore[attr-defined]
                         if c["kind"] == "detector"],
                        summary["findings_digest"], summary["audit_head"]))
    assert results[0] == results[1]
    assert results[0][0] == ["alpha", "beta"]
