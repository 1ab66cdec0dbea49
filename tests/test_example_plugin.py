"""The example plugin, installed the way a firm installs its own: from a wheelhouse.

Its wheel is built into a temporary wheelhouse beside the core's wheel (a
stand-in for a private index) and installed with ``--find-links`` and
``--no-index`` into a fresh environment that holds the core; then ``flow``
must discover it, describe it, pin it, and fire it on a scripted feed. Its
own test suite runs there too, against the installed wheel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from horizon_flow_core.testing import FeedBuilder

from .conftest import REPO, Venv, _uv

pytestmark = pytest.mark.slow

EXAMPLE = REPO / "examples" / "plugins" / "detector-resolution-ramp"
DIST = "horizon-flow-detector-resolution-ramp"
MIN = 60 * 10**9
T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
CLOSE_ISO = "2026-01-01T02:00:00Z"


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory, core_wheel: Path) -> Path:
    house = tmp_path_factory.mktemp("wheelhouse")
    shutil.copy(core_wheel, house)
    subprocess.run([*_uv(), "build", "--wheel", "--quiet", "--out-dir", str(house),
                    str(EXAMPLE)], check=True, capture_output=True, text=True, timeout=300)
    return house


@pytest.fixture(scope="module")
def venv(venv_factory: Callable[[str], Venv], wheelhouse: Path) -> Venv:
    env = venv_factory("example-plugin")
    core = next(wheelhouse.glob("horizon_flow-*.whl"))
    env.install(core, "pytest>=8")  # the core's own dependencies come from the usual index
    # the plugin only from the wheelhouse, as from a firm's private index
    subprocess.run([*_uv(), "pip", "install", "--quiet", "--python", str(env.python),
                    "--no-index", "--find-links", str(wheelhouse), DIST],
                   check=True, capture_output=True, text=True, timeout=300)
    return env


@pytest.fixture(scope="module")
def ramp_feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A market drifting down for an hour, then bought up hard in its last ten minutes."""
    fb = FeedBuilder(market="M")
    minutes = list(range(50, 109, 2))
    for i, m in enumerate(minutes):
        price = round(0.70 - 0.15 * i / (len(minutes) - 1), 4)
        fb.at(T0 + m * MIN).fill(f"trader{i % 4}", "buy" if i % 2 else "sell", price, 100,
                                 counterparty="mm")
    for i, price in enumerate([0.56, 0.58, 0.60, 0.62, 0.64, 0.66, 0.68, 0.70]):
        fb.at(T0 + 112 * MIN + i * 30 * 10**9).fill("whale", "buy", price, 300,
                                                    counterparty="mm")
    # ordinary two-sided trading in another market closing at the same time: no finding
    for i in range(12):
        fb.at(T0 + 100 * MIN + i * MIN).fill(f"t{i % 3}", "buy" if i % 2 else "sell",
                                             0.40 + (i % 3) * 0.01, 100, counterparty="mm",
                                             market="QUIET")
    return fb.write(tmp_path_factory.mktemp("feeds") / "ramp.jsonl")


def test_discovered_from_the_wheel_with_version_and_pin(venv: Venv) -> None:
    out = venv.flow_cmd("plugins", "list", "--json")
    assert out.returncode == 0, out.stderr
    records = {r["name"]: r for r in json.loads(out.stdout)}
    rec = records["resolution-ramp"]
    assert (rec["distribution"], rec["version"], rec["status"]) == (DIST, "0.1.0", "active")
    assert rec["provides"] == ["detector:resolution_ramp"]
    assert rec["error"] is None
    table = venv.flow_cmd("plugins", "list")
    assert "resolution-ramp" in table.stdout and "0.1.0" in table.stdout
    pins = venv.flow_cmd("plugins", "list", "--requirements").stdout.splitlines()
    assert f"{DIST}==0.1.0" in pins and "horizon-flow==0.1.0" in pins


def test_info_shows_component_defaults_hooks_and_location(venv: Venv) -> None:
    out = venv.flow_cmd("plugins", "info", "resolution-ramp", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["hooks"] == ["flow_detectors"]
    (comp,) = info["components"]
    assert (comp["kind"], comp["name"], comp["config_section"]) == (
        "detector", "resolution_ramp", "detectors.resolution_ramp")
    assert comp["config_class"] == (
        "horizon_flow_detector_resolution_ramp.config.ResolutionRampConfig")
    assert comp["defaults"]["window_s"] == 600.0 and comp["defaults"]["closes"] == {}
    # installed from the wheel into the venv, not imported from this checkout
    location = Path(info["location"])
    assert location.is_relative_to(venv.path) and "site-packages" in location.parts
    text = venv.flow_cmd("plugins", "info", DIST).stdout
    assert "min_aggressive_share = 0.65" in text and "[detectors.resolution_ramp]" in text


def test_scan_fires_on_the_scripted_feed(venv: Venv, ramp_feed: Path, tmp_path: Path) -> None:
    config = tmp_path / "flow.toml"
    config.write_text(f'[detectors.resolution_ramp]\ncloses = {{ M = "{CLOSE_ISO}", '
                      f'QUIET = "{CLOSE_ISO}" }}\n')
    out = venv.flow_cmd("scan", "--feed-log", str(ramp_feed), "--config", str(config),
                        "--db", "memory://x", "--audit-db", "memory://y", "--json",
                        "--rejects", str(tmp_path / "rejects.jsonl"))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["findings"] == 1
    assert summary["by_category"] == {"marking_the_close": 1}
    assert summary["rejects"] == 0
    comps = {c["name"]: c for c in summary["components"]}
    assert comps["resolution_ramp"]["errors"] == 0
    # without the close time (no config, nothing in the feed) there is nothing to judge
    bare = venv.flow_cmd("scan", "--feed-log", str(ramp_feed), "--db", "memory://x",
                         "--audit-db", "memory://y", "--json",
                         "--rejects", str(tmp_path / "rejects2.jsonl"))
    assert bare.returncode == 0, bare.stderr
    assert json.loads(bare.stdout)["findings"] == 0


def test_its_own_tests_pass_against_the_installed_wheel(venv: Venv) -> None:
    out = venv.run(str(venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   str(EXAMPLE / "tests"), cwd=EXAMPLE, timeout=180)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert " passed" in out.stdout.strip().splitlines()[-1]
