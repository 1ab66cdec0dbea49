"""The plugin contract beyond registration: lifecycle hooks, commands, API versions.

In-process, with isolated plugin managers (no entry points): what a plugin
author can rely on when a component raises, when another plugin's hook
raises, and when a plugin was built for a plugin API this core does not speak.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import typer
from typer.testing import CliRunner

from horizon_flow_core import (
    AnomalyFinding,
    DetectorSpec,
    PluginError,
    Runtime,
    VenueSpec,
    __version__,
    hookimpl,
)
from horizon_flow_core import version as core_version
from horizon_flow_core.config import EngineConfig, FlowConfig
from horizon_flow_core.engine import build_engine
from horizon_flow_core.testing import FeedBuilder, isolated_plugin_manager


class Explodes:
    name = "explodes"
    kinds = frozenset({"order.placed"})

    def on_event(self, ev: Any, ctx: Any) -> list[AnomalyFinding] | None:
        raise ValueError(f"bug on {ev.order_id}")


class Watcher:
    """Registers a detector that always raises and watches component errors."""

    __name__ = "watcher"
    HORIZON_FLOW_PLUGIN_API = 1

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str | None, bool]] = []
        self.runtimes: list[Any] = []

    @hookimpl
    def flow_detectors(self) -> list[DetectorSpec]:
        return [DetectorSpec(name="explodes", factory=lambda cfg: Explodes())]

    @hookimpl
    def flow_component_error(self, component: str, plugin: str, error: BaseException,
                             event: Any, quarantined: bool) -> None:
        self.calls.append((component, plugin, str(error), event.order_id if event else None,
                           quarantined))

    @hookimpl
    def flow_startup(self, runtime: Runtime) -> None:
        self.runtimes.append(("startup", runtime))

    @hookimpl
    def flow_shutdown(self, runtime: Runtime) -> None:
        self.runtimes.append(("shutdown", runtime))


class Clumsy:
    """Every lifecycle hook of this plugin raises; the others must not notice."""

    __name__ = "clumsy"

    @hookimpl
    def flow_component_error(self, component: str, plugin: str, error: BaseException,
                             event: Any, quarantined: bool) -> None:
        raise RuntimeError("reporting failed")

    @hookimpl
    def flow_startup(self, runtime: Runtime) -> None:
        raise RuntimeError("cannot start")

    @hookimpl
    def flow_commands(self, app: typer.Typer) -> None:
        raise RuntimeError("cannot add commands")


class Future:
    """Built for a plugin API this core does not speak, at module level."""

    __name__ = "future"
    HORIZON_FLOW_PLUGIN_API = 99

    @hookimpl
    def flow_startup(self, runtime: Runtime) -> None:
        raise AssertionError("a refused plugin must never be called")


def test_flow_component_error_reports_each_failure_and_the_quarantine(
        caplog: pytest.LogCaptureFixture) -> None:
    watcher, clumsy = Watcher(), Clumsy()
    pm = isolated_plugin_manager(watcher, clumsy)
    config = attrs.evolve(FlowConfig(), engine=EngineConfig(quarantine_after=2))
    engine = build_engine(config, pm, alerts=False)
    fb = FeedBuilder()
    for i in range(4):
        fb.place("a", "buy", 0.5, 10, order_id=f"o{i}")
    for ev in fb.events:
        assert engine.ingest(ev) == []  # ingest goes on; clumsy's raising hook is isolated
    assert watcher.calls == [("explodes", "watcher", "bug on o0", "o0", False),
                             ("explodes", "watcher", "bug on o1", "o1", True)]
    status = {c["name"]: c for c in engine.supervisor.status()}
    assert status["explodes"]["quarantined"] is True and status["explodes"]["errors"] == 2
    assert caplog.text.count("clumsy: flow_component_error raised RuntimeError") == 2


def test_flow_startup_and_shutdown_are_isolated_per_plugin() -> None:
    watcher = Watcher()
    pm = isolated_plugin_manager(watcher, Clumsy(), Future())
    runtime = Runtime(config=FlowConfig())
    errors = pm.call_lifecycle("flow_startup", runtime=runtime)
    assert [(name, str(exc)) for name, exc in errors] == [("clumsy", "cannot start")]
    assert pm.call_lifecycle("flow_shutdown", runtime=runtime) == []
    assert watcher.runtimes == [("startup", runtime), ("shutdown", runtime)]
    assert pm.records["future"].status == "incompatible"


def test_flow_commands_adds_commands_and_a_failing_plugin_is_marked() -> None:
    class Hello:
        __name__ = "hello"

        @hookimpl
        def flow_commands(self, app: typer.Typer) -> None:
            @app.command("hello")
            def hello(name: str = "desk") -> None:
                typer.echo(f"hello {name}")

    pm = isolated_plugin_manager(Clumsy(), Hello())
    app = typer.Typer()

    @app.command("noop")
    def noop() -> None:
        pass

    pm.add_commands(app)
    result = CliRunner().invoke(app, ["hello", "--name", "ops"])
    assert result.exit_code == 0 and result.output == "hello ops\n"
    assert pm.records["clumsy"].status == "failed"
    assert pm.records["clumsy"].error == "flow_commands raised RuntimeError: cannot add commands"
    assert pm.records["hello"].status == "active"


def _detector_plugin(name: str, api_version: int) -> Any:
    class Plugin:
        __name__ = name

        @hookimpl
        def flow_detectors(self) -> list[DetectorSpec]:
            return [DetectorSpec(name=name, factory=lambda cfg: Explodes(),
                                 api_version=api_version)]

    return Plugin()


def test_a_record_built_for_another_api_is_refused_saying_what_works() -> None:
    pm = isolated_plugin_manager(_detector_plugin("future", 2), _detector_plugin("today", 1))
    assert [s.name for s in pm.detector_specs()] == ["today"]
    rec = pm.records["future"]
    assert rec.status == "incompatible"
    assert rec.error == (f"detector 'future' was built for plugin API 2; horizon-flow "
                         f"{__version__} supports plugin API 1 (install a future release built "
                         "for that, or a horizon-flow release supporting API 2)")
    assert pm.records["today"].status == "active"
    listed = {r.name: r.to_dict() for r in pm.listing()}
    assert listed["future"]["status"] == "incompatible"
    assert "supports plugin API 1" in str(listed["future"]["error"])


def test_a_module_built_for_another_api_is_refused_with_the_remedy() -> None:
    pm = isolated_plugin_manager(Future())
    assert pm.records["future"].error == (
        f"built for plugin API 99; horizon-flow {__version__} supports plugin API 1 (install "
        "a future release built for that, or a horizon-flow release supporting API 99)")
    strict = isolated_plugin_manager(strict=True)
    with pytest.raises(PluginError, match=r"^plugin future: built for plugin API 99; "):
        strict.register(Future(), name="future")


def test_the_wording_lists_every_supported_version(monkeypatch: pytest.MonkeyPatch) -> None:
    assert core_version.describe_supported_api_versions() == "plugin API 1"
    monkeypatch.setattr(core_version, "SUPPORTED_PLUGIN_API_VERSIONS", frozenset({3, 1, 2}))
    assert core_version.describe_supported_api_versions() == "plugin API 1, 2 or 3"


def test_an_incompatible_plugin_contributes_nothing() -> None:
    class Mixed:
        __name__ = "mixed"

        @hookimpl
        def flow_detectors(self) -> list[DetectorSpec]:
            return [DetectorSpec(name="mixed_d", factory=lambda cfg: Explodes())]

        @hookimpl
        def flow_venues(self) -> list[VenueSpec]:
            return [VenueSpec(name="mixed_v", make_normalizer=lambda cfg: None, api_version=2)]

    pm = isolated_plugin_manager(Mixed())
    pm.collect_all()
    assert pm.records["mixed"].status == "incompatible"
    assert "mixed_d" not in [s.name for s in pm.detector_specs()]
