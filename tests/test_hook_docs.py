"""Every hook is documented, its reference is current, and some test exercises it.

The idea is datasette's test_plugins: a hook nobody documented or tested is
a hook nobody can rely on. The reference (docs/hooks_reference.md) is
generated from the hookspec docstrings by scripts/gen_hook_docs.py.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from horizon_flow_core import hookspecs, plugin_manager

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gen_hook_docs.py"
REFERENCE = REPO / "docs" / "hooks_reference.md"
GUIDE = REPO / "docs" / "plugins.md"


def _load_script() -> Any:
    spec = importlib.util.spec_from_file_location("gen_hook_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_script()
HOOKS = [name for name, _ in gen.hook_specs(hookspecs)]


def test_hooks_are_found_in_source_order() -> None:
    assert HOOKS[0] == "flow_detectors" and len(HOOKS) == len(set(HOOKS)) >= 10
    assert all(name.startswith("flow_") for name in HOOKS)
    assert set(plugin_manager.REGISTRATION_HOOKS) <= set(HOOKS)


def test_every_hook_has_a_docstring_with_an_example() -> None:
    assert gen.problems(hookspecs) == []


def test_the_committed_reference_is_current() -> None:
    expected = gen.render(hookspecs)
    assert REFERENCE.read_text(encoding="utf-8") == expected, (
        "docs/hooks_reference.md is out of date: run python scripts/gen_hook_docs.py")
    for name in HOOKS:
        assert f"### {name}\n" in expected


def test_the_check_mode_agrees() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A hook without a docstring or example is reported, and a stale file is detected."""
    import pluggy

    fake = types.ModuleType("fake_hookspecs")
    fake.PROJECT_NAME = "horizon_flow"  # type: ignore[attr-defined]
    spec = pluggy.HookspecMarker("horizon_flow")

    def flow_silent() -> None:
        pass

    def flow_no_example() -> None:
        """Called sometimes."""

    fake.flow_silent = spec(flow_silent)  # type: ignore[attr-defined]
    fake.flow_no_example = spec(flow_no_example)  # type: ignore[attr-defined]
    assert gen.problems(fake) == [
        "flow_silent: no docstring (say when it is called and what it returns)",
        "flow_no_example: its docstring has no 'Example::' block"]
    stale = tmp_path / "ref.md"
    stale.write_text(gen.render(hookspecs).replace("Register detectors.", "Old words."))
    out = subprocess.run([sys.executable, str(SCRIPT), "--check", "--output", str(stale)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "is out of date" in out.stderr


def test_docstrings_render_as_markdown() -> None:
    md = gen.docstring_markdown("Return :class:`~a.b.DetectorSpec` and ``x``.\n\nExample::\n\n"
                                "    @hookimpl\n    def f():\n        pass\n")
    assert md == ("Return `DetectorSpec` and `x`.\n\nExample:\n\n```python\n@hookimpl\n"
                  "def f():\n    pass\n```\n")


def _test_files() -> list[Path]:
    files = [*REPO.glob("tests/**/test_*.py"), *REPO.glob("plugins/*/tests/**/test_*.py"),
             *REPO.glob("examples/plugins/*/tests/**/test_*.py")]
    return sorted(f for f in files if f.name != Path(__file__).name)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_exercised_by_a_test(hook: str) -> None:
    pattern = re.compile(rf"\b{hook}\b")
    users = [f.relative_to(REPO) for f in _test_files() if pattern.search(f.read_text())]
    assert users, (f"no test under tests/, plugins/*/tests/ or examples/plugins/*/tests/ "
                   f"uses {hook}: write one that implements or calls it")


def test_the_guide_documents_the_switches_the_code_reads() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    for env in (plugin_manager.ENV_ENABLE, plugin_manager.ENV_DISABLE,
                plugin_manager.ENV_NO_PLUGINS, plugin_manager.ENV_STRICT):
        assert env in guide, env
    for key in ("enable", "disable", "order"):
        assert re.search(rf"^{key} = ", guide, re.M), f"[plugins] {key} has no example"
    for needle in ("[engine]", "quarantine_after", "quarantine_window_events",
                   "HORIZON_FLOW_PLUGIN_API", "api_version", "flow plugins list --requirements",
                   "flow plugins new", "hooks_reference.md", plugin_manager.ENTRY_POINT_GROUP):
        assert needle in guide, needle


def test_the_guides_python_examples_are_valid() -> None:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        compile(block, f"plugins.md python block {i}", "exec")


def test_the_twenty_line_plugin_works() -> None:
    """The guide's first example, run as written."""
    from horizon_flow_core import FlowEngine
    from horizon_flow_core.testing import FeedBuilder, check_detector, isolated_plugin_manager

    block = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)[0]
    module = types.ModuleType("big_cancel_plugin")
    exec(compile(block, "plugins.md", "exec"), module.__dict__)
    pm = isolated_plugin_manager(module)
    (spec,) = [s for s in pm.detector_specs() if s.name == "big_cancel"]
    check_detector(spec.factory)
    fb = FeedBuilder()
    fb.cancel("alice", fb.place("alice", "buy", 0.50, 20_000))
    fb.cancel("bob", fb.place("bob", "buy", 0.50, 5))
    engine = FlowEngine(detectors=[spec.factory(None)])
    found = [f for ev in fb.events for f in engine.ingest(ev)]
    assert [(f.actor_id, f.evidence["size"]) for f in found] == [("alice", 20_000)]
