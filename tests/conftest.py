"""Shared fixtures for the cross-package tests: fresh virtual environments and tiny plugins.

Fresh environments are made with uv (fast, cached) from this interpreter, so
what a test installs there is exactly what a user would get from pip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


def _uv() -> list[str]:
    exe = shutil.which("uv")
    if exe:
        return [exe]
    return [sys.executable, "-m", "uv"]


class Venv:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.python = path / "bin" / "python"
        self.flow = path / "bin" / "flow"

    def install(self, *specs: str | Path, editable: bool = False) -> None:
        # --no-sources: install what a user's pip would, not the uv workspace's members
        args = [*_uv(), "pip", "install", "--quiet", "--no-sources", "--python", str(self.python)]
        for s in specs:
            args += (["-e", str(s)] if editable else [str(s)])
        subprocess.run(args, check=True, capture_output=True, text=True, timeout=600)

    def run(self, *args: str, check: bool = False, env: dict[str, str] | None = None,
            cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("HORIZON_FLOW_")}
        full_env["PATH"] = f"{self.path / 'bin'}:{full_env.get('PATH', '')}"
        full_env.pop("VIRTUAL_ENV", None)
        full_env.update(env or {})
        return subprocess.run(list(args), capture_output=True, text=True, env=full_env,
                              cwd=cwd, check=check, timeout=timeout)

    def flow_cmd(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.flow), *args, **kw)  # type: ignore[arg-type]


def make_venv(path: Path) -> Venv:
    subprocess.run([*_uv(), "venv", "--quiet", "--python", sys.executable, str(path)],
                   check=True, capture_output=True, text=True, timeout=300)
    return Venv(path)


def write_plugin(root: Path, dist: str, module: str, source: str,
                 entry_points: dict[str, str] | None = None,
                 dependencies: tuple[str, ...] = ("horizon-flow",)) -> Path:
    """Write a tiny plugin distribution (pyproject + one module) and return its folder."""
    folder = root / dist
    pkg = folder / module
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(source))
    eps = entry_points or {dist: module}
    ep_lines = "\n".join(f'"{k}" = "{v}"' for k, v in eps.items())
    deps = ", ".join(f'"{d}"' for d in dependencies)
    (folder / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{dist}"
        version = "1.0.0"
        dependencies = [{deps}]

        [project.entry-points.horizon_flow]
        {ep_lines}

        [tool.hatch.build.targets.wheel]
        packages = ["{module}"]
        """))
    return folder


def run_flow(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``flow ARGS`` in-process; the exit code, stdout and stderr."""
    from horizon_flow_core.cli.app import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def sqlite_rows(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows of a query on a store file, opened read-only."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return conn.execute(sql, params).fetchall()


def write_two_venue_feed(path: Path, seed: int = 11) -> int:
    """A seeded feed with one planted episode per category, over two venues."""
    import attrs

    from horizon_flow_core.synthetic import default_markets, generate, write_feed

    markets = list(default_markets(4))
    markets[3] = attrs.evolve(markets[3], venue="synthetic-perp")
    scenario = generate(seed=seed, markets=markets, actors=20, events=3000, episodes=1)
    return write_feed(path, scenario.events)


@pytest.fixture(scope="session")
def venv_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Venv]:
    def factory(name: str) -> Venv:
        return make_venv(tmp_path_factory.mktemp("venvs") / name)

    return factory


@pytest.fixture(scope="session")
def core_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The core built once as a wheel, as a user would install it."""
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run([*_uv(), "build", "--wheel", "--quiet", "--out-dir", str(out), str(REPO)],
                   check=True, capture_output=True, text=True, timeout=600)
    wheels = sorted(out.glob("horizon_flow-*.whl"))
    assert wheels, "core wheel was not built"
    return wheels[0]


@pytest.fixture
def shared_fixtures() -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is absent (recorded venue data is not redistributed)")
    return SHARED_FIXTURES
