"""``flow plugins new``: names, rendering, the command line, all-or-nothing writes, lint.

The scaffolds' own test suites run in a fresh environment in
test_scaffold_install.py; these tests are the fast, in-process part.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from horizon_flow_core import __version__
from horizon_flow_core.cli.app import main
from horizon_flow_core.scaffold import KINDS, ScaffoldError, core_requirement, plugin_names, render
from horizon_flow_core.scaffold import generator as gen
from horizon_flow_core.scaffold.names import MAX_NAME_LENGTH


def test_every_name_derives_from_kind_and_short_name() -> None:
    n = plugin_names("detector", "late-ramp")
    assert (n.dist, n.package, n.component, n.class_prefix, n.folder, n.entry_point,
            n.test_module) == ("horizon-flow-detector-late-ramp", "horizon_flow_detector_late_ramp",
                               "late_ramp", "LateRamp", "detector-late-ramp", "late-ramp",
                               "test_detector_late_ramp")
    assert plugin_names("store", "s3").class_prefix == "S3"


@pytest.mark.parametrize("name", ["Late_Ramp", "late_ramp", "1ramp", "late--ramp", "-ramp",
                                  "ramp-", "", "late ramp", "rampé", "x" * (MAX_NAME_LENGTH + 1),
                                  "class", "horizon.flow"])
def test_bad_names_are_refused_in_one_line(name: str) -> None:
    with pytest.raises(ScaffoldError) as err:
        plugin_names("detector", name)
    message = str(err.value)
    assert message.startswith(f"bad plugin name {name!r}") and "\n" not in message


def test_bad_name_suggests_the_fix_and_kinds_are_checked() -> None:
    with pytest.raises(ScaffoldError, match="did you mean 'late-ramp'"):
        plugin_names("detector", "Late_Ramp")
    with pytest.raises(ScaffoldError, match="unknown plugin kind 'widget'"):
        plugin_names("widget", "x")
    # an alert router owns [alerts.<name>]: names that shadow core keys are refused
    with pytest.raises(ScaffoldError, match=r"\[alerts.severity_floor\] is taken"):
        plugin_names("alert", "severity-floor")
    assert plugin_names("detector", "routes").component == "routes"


def test_core_requirement_is_the_running_minor_series() -> None:
    assert core_requirement("0.1.0") == "horizon-flow>=0.1,<0.2"
    assert core_requirement("0.7.3rc1") == "horizon-flow>=0.7,<0.8"
    assert core_requirement("1.4.2") == "horizon-flow>=1.4,<2"
    major, minor = __version__.split(".")[:2]
    assert plugin_names("venue", "x").core_requirement.startswith(
        f"horizon-flow>={major}.{minor},")


@pytest.mark.parametrize("kind", KINDS)
def test_render_is_complete_and_deterministic(kind: str) -> None:
    names = plugin_names(kind, "desk-two")
    files = render(names)
    assert files == render(names)
    pkg = f"src/{names.package}"
    assert {"pyproject.toml", "README.md", ".gitignore", f"{pkg}/__init__.py",
            f"{pkg}/plugin.py", f"tests/{names.test_module}.py"} <= set(files)
    for rel, text in files.items():
        assert "{{" not in text and "__package__" not in rel, rel
        if rel.endswith(".py"):
            compile(text, rel, "exec")  # valid Python
    project = tomllib.loads(files["pyproject.toml"])["project"]
    assert project["name"] == names.dist and project["version"] == "0.1.0"
    assert project["dependencies"][0] == names.core_requirement == "horizon-flow>=0.1,<0.2"
    assert project["entry-points"]["horizon_flow"] == {names.entry_point: f"{names.package}.plugin"}
    assert "HORIZON_FLOW_PLUGIN_API = 1" in files[f"{pkg}/plugin.py"]
    assert "horizon_flow_core.testing" in files[f"tests/{names.test_module}.py"]


def test_unknown_placeholder_is_a_template_bug() -> None:
    with pytest.raises(ScaffoldError, match=r"template t: unknown placeholder \{\{nope\}\}"):
        gen.render_text("x = {{nope}}", {"name": "a"}, where="t")


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "new", "detector", "late-ramp", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    root = tmp_path / "detector-late-ramp"
    assert f"created horizon-flow-detector-late-ramp in {root}" in out
    assert (root / "src/horizon_flow_detector_late_ramp/detector.py").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["detector-late-ramp"]  # no staging

    assert main(["plugins", "new", "detector", "late-ramp", "--dir", str(tmp_path)]) == 1
    assert _last_line(capsys.readouterr().err) == (
        f"error: {root} already exists; choose another name or --dir")
    assert main(["plugins", "new", "venue", "Bad_Name", "--dir", str(tmp_path)]) == 1
    assert _last_line(capsys.readouterr().err).startswith("error: bad plugin name 'Bad_Name'")
    assert main(["plugins", "new", "widget", "x", "--dir", str(tmp_path)]) == 2
    assert "'widget' is not one of 'detector', 'venue', 'store', 'alert'" in \
        capsys.readouterr().err

    assert main(["plugins", "new", "alert", "desk", "--dir", str(tmp_path / "new"),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["distribution"] == "horizon-flow-alert-desk"
    assert Path(result["root"]) == tmp_path / "new" / "alert-desk"


def test_a_file_in_the_way_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ScaffoldError, match="not a directory"):
        gen.scaffold("detector", "x", tmp_path / "afile")


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # the second file cannot be written: its "folder" is the first file
    monkeypatch.setattr(gen, "render", lambda names: {"a": "x", "a/b": "y"})
    with pytest.raises(ScaffoldError, match="cannot write the plugin"):
        gen.scaffold("detector", "x", tmp_path)
    assert list(tmp_path.iterdir()) == []


def _ruff() -> list[str] | None:
    exe = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    return [exe] if Path(exe).exists() else None


def test_generated_code_is_lint_clean(tmp_path: Path) -> None:
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed")
    longest = "-".join(["abcdefghij", "abcdefghij", "ab"])
    assert len(longest) == MAX_NAME_LENGTH
    for kind in KINDS:
        for name in ("x", longest):
            gen.scaffold(kind, name, tmp_path)
    # each scaffold's own [tool.ruff] settings apply (line length 100, isort sections)
    out = subprocess.run([*ruff, "check", "--no-cache", "--output-format", "concise",
                          *sorted(str(p) for p in tmp_path.iterdir())],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
