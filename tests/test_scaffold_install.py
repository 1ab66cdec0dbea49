"""The four scaffolds pass their own tests right after ``pip install -e``, in a fresh venv.

One environment holds the core (installed from its wheel, as a user gets
it) and pytest; its own ``flow plugins new`` writes the four scaffolds
(so the templates must be in the wheel), which are installed editable,
exactly as their READMEs say. Each scaffold's test suite then runs there,
and ``flow plugins list`` must show all four active.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from horizon_flow_core.scaffold import KINDS

from .conftest import REPO, Venv

pytestmark = pytest.mark.slow

NAMES = {"detector": "late-ramp", "venue": "desk-ws", "store": "archive", "alert": "desk-hook"}


def test_the_core_wheel_carries_every_template(core_wheel: Path) -> None:
    templates = REPO / "horizon_flow_core" / "scaffold" / "templates"
    expected = {p.relative_to(REPO).as_posix() for p in templates.rglob("*.tmpl")}
    with zipfile.ZipFile(core_wheel) as wheel:
        packed = {n for n in wheel.namelist() if n.endswith(".tmpl")}
    assert len(expected) > 20 and packed == expected


@pytest.fixture(scope="module")
def venv(venv_factory: Callable[[str], Venv], core_wheel: Path) -> Venv:
    env = venv_factory("scaffolds")
    env.install(core_wheel, "pytest>=8")
    return env


@pytest.fixture(scope="module")
def scaffolds(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("scaffolds")
    made = {}
    for kind in KINDS:
        out = venv.flow_cmd("plugins", "new", kind, NAMES[kind], "--dir", str(root), "--json")
        assert out.returncode == 0, out.stderr
        made[kind] = Path(json.loads(out.stdout)["root"])
    venv.install(*[made[k] for k in KINDS], editable=True)
    return made


@pytest.mark.parametrize("kind", KINDS)
def test_scaffold_passes_its_own_tests(kind: str, venv: Venv,
                                       scaffolds: dict[str, Path]) -> None:
    out = venv.run(str(venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   cwd=scaffolds[kind], timeout=180)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    summary = out.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary


def test_flow_lists_all_four_active(venv: Venv, scaffolds: dict[str, Path]) -> None:
    out = venv.flow_cmd("plugins", "list", "--json")
    assert out.returncode == 0, out.stderr
    records = {r["name"]: r for r in json.loads(out.stdout)}
    expected = {"late-ramp": "detector:late_ramp", "desk-ws": "venue:desk_ws",
                "archive": "store:archive", "desk-hook": "alert_router:desk_hook"}
    for name, provides in expected.items():
        assert records[name]["status"] == "active", records[name]
        assert records[name]["version"] == "0.1.0"
        assert provides in records[name]["provides"]
    reqs = venv.flow_cmd("plugins", "list", "--requirements")
    assert "horizon-flow-detector-late-ramp==0.1.0" in reqs.stdout.splitlines()
