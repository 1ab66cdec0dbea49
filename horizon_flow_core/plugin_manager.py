"""Discovering, loading, ordering and listing plugins.

Modelled on conda's and pytest's plugin managers:

* Entry points of the group ``horizon_flow`` are loaded by our own loop, one
  at a time, sorted by (distribution, entry point) name. A plugin that fails
  to import is recorded as ``failed`` with its error; it never stops ``flow``.
  ``HORIZON_FLOW_STRICT_PLUGINS=1`` re-raises instead, for plugin authors.
* A plugin module may declare ``HORIZON_FLOW_PLUGIN_API``; each registration
  record carries ``api_version``. Versions this core does not support are
  refused with a message saying which would work.
* Registration hooks are called one implementation at a time, so one plugin
  whose hook raises is marked failed and the others still register.
* Two plugins registering the same component name is an error naming both
  distributions, never a silent win for whichever loaded last.
* Components are ordered by ``[plugins] order``, then priority, then name:
  never by install or entry-point order, which differ between machines.
* Allow and deny lists (config ``[plugins] enable/disable``, environment
  ``HORIZON_FLOW_PLUGINS_ENABLE/DISABLE``, ``HORIZON_FLOW_NO_PLUGINS=1``)
  match distribution names, entry-point names and component names.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, TypeVar

import attrs
import pluggy

from . import hookspecs
from .errors import PluginError
from .specs import (
    AlertRouterSpec,
    ConfigSection,
    DetectorSpec,
    ProfilerSpec,
    StoreSpec,
    VenueSpec,
)
from .version import SUPPORTED_PLUGIN_API_VERSIONS, __version__, describe_supported_api_versions

log = logging.getLogger("horizon_flow.plugins")

ENTRY_POINT_GROUP = "horizon_flow"
CORE_PLUGIN_NAME = "horizon-flow"
ENV_ENABLE = "HORIZON_FLOW_PLUGINS_ENABLE"
ENV_DISABLE = "HORIZON_FLOW_PLUGINS_DISABLE"
ENV_NO_PLUGINS = "HORIZON_FLOW_NO_PLUGINS"
ENV_STRICT = "HORIZON_FLOW_STRICT_PLUGINS"

REGISTRATION_HOOKS = {
    "flow_detectors": ("detector", DetectorSpec),
    "flow_profilers": ("profiler", ProfilerSpec),
    "flow_venues": ("venue", VenueSpec),
    "flow_stores": ("store", StoreSpec),
    "flow_alert_routers": ("alert_router", AlertRouterSpec),
    "flow_config_sections": ("config_section", ConfigSection),
}

S = TypeVar("S")


@attrs.define
class PluginRecord:
    """One loaded (or refused) plugin, as ``flow plugins list`` shows it."""

    name: str
    distribution: str
    version: str
    entry_point: str
    status: str = "active"  # active | disabled | failed | incompatible | conflict
    error: str | None = None
    provides: list[str] = attrs.field(factory=list)
    hooks: list[str] = attrs.field(factory=list)
    location: str | None = None
    module: Any = attrs.field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "entry_point": self.entry_point, "status": self.status, "error": self.error,
                "provides": list(self.provides), "hooks": list(self.hooks),
                "location": self.location}


def _split_env(name: str) -> list[str]:
    return [x.strip() for x in os.environ.get(name, "").split(",") if x.strip()]


def _norm(name: str) -> str:
    return name.lower().replace("_", "-")


class PluginManager:
    """Loads plugins and collects their registration records, deterministically."""

    def __init__(self, *, enable: Iterable[str] = (), disable: Iterable[str] = (),
                 order: Iterable[str] = (), load_entrypoints: bool = True,
                 strict: bool | None = None) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.enable = {_norm(x) for x in [*enable, *_split_env(ENV_ENABLE)]}
        self.disable = {_norm(x) for x in [*disable, *_split_env(ENV_DISABLE)]}
        self.order = list(order)
        self.strict = bool(os.environ.get(ENV_STRICT)) if strict is None else strict
        self.records: dict[str, PluginRecord] = {}
        # hook name -> [(record name, spec)]: the owner is kept so a plugin
        # refused by a later hook contributes nothing from earlier ones
        self._collected: dict[str, list[tuple[str, Any]]] = {}
        self._conflicts: dict[str, list[str]] = {}
        from . import builtin_plugin

        self._register_module(builtin_plugin, name=CORE_PLUGIN_NAME,
                              distribution=CORE_PLUGIN_NAME, version=__version__,
                              entry_point="(built in)")
        if load_entrypoints and not os.environ.get(ENV_NO_PLUGINS):
            self.load_entrypoints()

    # ------------------------------------------------------------------ loading
    def _allowed(self, *names: str) -> bool:
        normed = {_norm(n) for n in names}
        if normed & self.disable:
            return False
        if self.enable and not (normed & (self.enable | {CORE_PLUGIN_NAME})):
            return False
        return True

    def load_entrypoints(self, group: str = ENTRY_POINT_GROUP) -> None:
        eps = sorted(md.entry_points(group=group),
                     key=lambda ep: ((ep.dist.name if ep.dist else ""), ep.name))
        for ep in eps:
            dist = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            key = ep.name
            if key in self.records:
                # the same entry point name twice (two distributions): keep both visible
                key = f"{dist}:{ep.name}"
            rec = PluginRecord(name=key, distribution=dist, version=version,
                               entry_point=f"{ep.name} = {ep.value}")
            self.records[key] = rec
            if not self._allowed(dist, ep.name):
                rec.status = "disabled"
                continue
            try:
                module = ep.load()
            except Exception as exc:
                rec.status = "failed"
                rec.error = f"import failed: {type(exc).__name__}: {exc}"
                log.warning("plugin %s (%s %s) failed to load: %s", key, dist, version, rec.error)
                if self.strict:
                    raise
                continue
            self._attach(rec, module)

    def _register_module(self, module: Any, *, name: str, distribution: str, version: str,
                         entry_point: str) -> PluginRecord:
        rec = PluginRecord(name=name, distribution=distribution, version=version,
                           entry_point=entry_point)
        self.records[name] = rec
        self._attach(rec, module)
        return rec

    def register(self, module: Any, name: str | None = None, *, distribution: str | None = None,
                 version: str = "0") -> PluginRecord:
        """Register a plugin object directly (tests, embedding applications)."""
        plugin_name = name or getattr(module, "__name__", None) or type(module).__name__
        self._collected.clear()
        return self._register_module(module, name=plugin_name,
                                     distribution=distribution or plugin_name, version=version,
                                     entry_point="(registered)")

    def unregister(self, name: str) -> None:
        rec = self.records.pop(name, None)
        if rec is not None and rec.module is not None:
            self.pm.unregister(rec.module)
        self._collected.clear()

    def _attach(self, rec: PluginRecord, module: Any) -> None:
        rec.module = module
        rec.location = getattr(module, "__file__", None) or (
            getattr(type(module), "__module__", None))
        api = getattr(module, "HORIZON_FLOW_PLUGIN_API", None)
        if api is not None and api not in SUPPORTED_PLUGIN_API_VERSIONS:
            rec.status = "incompatible"
            rec.error = (f"built for plugin API {api}; horizon-flow {__version__} supports "
                         f"{describe_supported_api_versions()} (install a {rec.distribution} "
                         f"release built for that, or a horizon-flow release supporting API {api})")
            log.warning("plugin %s refused: %s", rec.name, rec.error)
            if self.strict:
                raise PluginError(f"plugin {rec.name}: {rec.error}")
            return
        try:
            self.pm.register(module, name=rec.name)
        except Exception as exc:
            rec.status = "failed"
            rec.error = f"registration failed: {type(exc).__name__}: {exc}"
            if self.strict:
                raise
            return
        rec.hooks = sorted(impl_name for impl_name in dir(module)
                           if impl_name.startswith("flow_") and callable(getattr(module, impl_name))
                           and hasattr(getattr(module, impl_name), "horizon_flow_impl"))
        self._collected.clear()

    # ------------------------------------------------------------------ collection
    def _collect(self, hook_name: str) -> list[Any]:
        """What one registration hook registered, from plugins still active.

        Every registration hook runs the first time any is asked for, so a
        plugin refused by one hook (an unsupported API version, a raising
        hook) is known before any of its components is handed out.
        """
        if hook_name not in self._collected:
            for name in REGISTRATION_HOOKS:
                if name not in self._collected:
                    self._collected[name] = self._call_registration(name)
        return [spec for owner, spec in self._collected[hook_name]
                if self.records.get(owner) is not None
                and self.records[owner].status in ("active", "conflict")]

    def _call_registration(self, hook_name: str) -> list[tuple[str, Any]]:
        """Call one registration hook plugin by plugin, keeping what each returned."""
        kind, spec_cls = REGISTRATION_HOOKS[hook_name]
        hook = getattr(self.pm.hook, hook_name)
        by_name: dict[str, list[Any]] = {}
        impls = sorted(hook.get_hookimpls(), key=lambda impl: impl.plugin_name)
        for impl in impls:
            rec = self.records.get(impl.plugin_name)
            if rec is None or rec.status not in ("active", "conflict"):
                continue
            try:
                result = impl.function()
                specs = list(result or ())
                for spec in specs:
                    if not isinstance(spec, spec_cls):
                        raise TypeError(f"{hook_name} returned {type(spec).__name__}, "
                                        f"expected {spec_cls.__name__}")
            except Exception as exc:
                rec.status = "failed"
                rec.error = f"{hook_name} raised {type(exc).__name__}: {exc}"
                log.warning("plugin %s: %s", rec.name, rec.error)
                if self.strict:
                    raise
                continue
            for spec in specs:
                api = spec.api_version
                if api not in SUPPORTED_PLUGIN_API_VERSIONS:
                    rec.status = "incompatible"
                    rec.error = (f"{kind} {getattr(spec, 'name', getattr(spec, 'path', '?'))!r} "
                                 f"was built for plugin API {api}; horizon-flow {__version__} "
                                 f"supports {describe_supported_api_versions()} (install a "
                                 f"{rec.distribution} release built for that, or a horizon-flow "
                                 f"release supporting API {api})")
                    log.warning("plugin %s refused: %s", rec.name, rec.error)
                    break
            else:
                for spec in specs:
                    spec = attrs.evolve(spec, plugin=rec.distribution)
                    cname = getattr(spec, "name", None) or spec.path
                    label = f"{kind}:{cname}"
                    if label not in rec.provides:
                        rec.provides.append(label)
                    if kind != "config_section" and _norm(cname) in self.disable:
                        continue
                    by_name.setdefault(cname, []).append((rec, spec))
        out: list[tuple[str, Any]] = []
        for cname, entries in sorted(by_name.items()):
            if len(entries) > 1:
                owners = sorted(f"{r.distribution} ({r.name})" for r, _ in entries)
                self._conflicts[f"{kind}:{cname}"] = owners
                for r, _ in entries:
                    r.status = "conflict"
                    r.error = (f"{kind} name {cname!r} is registered by more than one plugin: "
                               f"{' and '.join(owners)}")
                continue
            out.append((entries[0][0].name, entries[0][1]))
        return out

    def _ordered(self, specs: list[S]) -> list[S]:
        position = {name: i for i, name in enumerate(self.order)}

        def key(spec: Any) -> tuple[int, int, str]:
            return (position.get(spec.name, len(position)), getattr(spec, "priority", 100),
                    spec.name)

        return sorted(specs, key=key)

    def check_conflicts(self, kind: str | None = None) -> None:
        """Raise PluginError if two plugins claim one component name."""
        for label, owners in sorted(self._conflicts.items()):
            if kind is None or label.startswith(kind + ":"):
                k, name = label.split(":", 1)
                raise PluginError(f"two plugins register the {k.replace('_', ' ')} {name!r}: "
                                  f"{' and '.join(owners)}; uninstall or disable one "
                                  f"([plugins] disable = [...] or {ENV_DISABLE})")

    def _specs(self, hook_name: str, check_conflicts: bool) -> list[Any]:
        specs = self._ordered(self._collect(hook_name))
        if check_conflicts:
            self.check_conflicts(REGISTRATION_HOOKS[hook_name][0])
        return specs

    def detector_specs(self, check_conflicts: bool = True) -> list[DetectorSpec]:
        return self._specs("flow_detectors", check_conflicts)

    def profiler_specs(self, check_conflicts: bool = True) -> list[ProfilerSpec]:
        return self._specs("flow_profilers", check_conflicts)

    def venue_specs(self, check_conflicts: bool = True) -> list[VenueSpec]:
        return self._specs("flow_venues", check_conflicts)

    def store_specs(self, check_conflicts: bool = True) -> list[StoreSpec]:
        return self._specs("flow_stores", check_conflicts)

    def alert_router_specs(self, check_conflicts: bool = True) -> list[AlertRouterSpec]:
        return self._specs("flow_alert_routers", check_conflicts)

    def config_sections(self) -> list[ConfigSection]:
        return sorted(self._collect("flow_config_sections"), key=lambda s: s.path)

    def venue(self, name: str) -> VenueSpec:
        for spec in self.venue_specs():
            if spec.name == name:
                return spec
        installed = ", ".join(s.name for s in self.venue_specs()) or "none"
        raise PluginError(f"no installed plugin provides venue {name!r} (installed: {installed}); "
                          f"try: pip install 'horizon-flow[{name}]'")

    def collect_all(self) -> None:
        """Run every registration hook once, so the listing shows what each plugin provides."""
        for hook_name in REGISTRATION_HOOKS:
            self._collect(hook_name)

    # ------------------------------------------------------------------ commands & lifecycle
    def add_commands(self, app: Any) -> None:
        for impl in sorted(self.pm.hook.flow_commands.get_hookimpls(),
                           key=lambda i: i.plugin_name):
            rec = self.records.get(impl.plugin_name)
            if rec is None or rec.status != "active":
                continue
            try:
                impl.function(app=app)
            except Exception as exc:
                rec.status = "failed"
                rec.error = f"flow_commands raised {type(exc).__name__}: {exc}"
                log.warning("plugin %s: %s", rec.name, rec.error)
                if self.strict:
                    raise

    def call_lifecycle(self, hook_name: str, **kwargs: Any) -> list[tuple[str, BaseException]]:
        """Call a lifecycle hook on every active plugin, isolating failures."""
        errors: list[tuple[str, BaseException]] = []
        hook = getattr(self.pm.hook, hook_name)
        for impl in sorted(hook.get_hookimpls(), key=lambda i: i.plugin_name):
            rec = self.records.get(impl.plugin_name)
            if rec is None or rec.status != "active":
                continue
            try:
                impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})
            except Exception as exc:
                log.warning("plugin %s: %s raised %s: %s", impl.plugin_name, hook_name,
                            type(exc).__name__, exc)
                errors.append((impl.plugin_name, exc))
                if self.strict:
                    raise
        return errors

    # ------------------------------------------------------------------ listing
    def listing(self) -> list[PluginRecord]:
        self.collect_all()
        return sorted(self.records.values(), key=lambda r: (r.name != CORE_PLUGIN_NAME, r.name))

    def record_for(self, name: str) -> PluginRecord | None:
        n = _norm(name)
        for rec in self.listing():
            if n in (_norm(rec.name), _norm(rec.distribution)):
                return rec
        return None


_DEFAULT: dict[tuple[Any, ...], PluginManager] = {}


def get_plugin_manager(plugins: Any = None, *, factory: Callable[..., PluginManager] = PluginManager
                       ) -> PluginManager:
    """The process's plugin manager for a ``[plugins]`` table (built once per table)."""
    enable = tuple(getattr(plugins, "enable", ()) or ())
    disable = tuple(getattr(plugins, "disable", ()) or ())
    order = tuple(getattr(plugins, "order", ()) or ())
    key = (enable, disable, order, os.environ.get(ENV_ENABLE), os.environ.get(ENV_DISABLE),
           os.environ.get(ENV_NO_PLUGINS))
    pm = _DEFAULT.get(key)
    if pm is None:
        pm = _DEFAULT[key] = factory(enable=enable, disable=disable, order=order)
    return pm


def reset_default_plugin_manager() -> None:
    _DEFAULT.clear()


def module_of(obj: Any) -> ModuleType | None:
    import sys

    return sys.modules.get(getattr(obj, "__module__", ""), None)
