"""``flow plugins list|info``: what is installed, what it provides, and whether it loaded."""

from __future__ import annotations

from typing import Any

import attrs
import typer

from ..plugin_manager import CORE_PLUGIN_NAME, PluginRecord, get_plugin_manager
from .output import console, print_json, print_table

plugins_app = typer.Typer(help="List and inspect installed plugins.", no_args_is_help=True)


def _short(rec: PluginRecord) -> str:
    return ", ".join(rec.provides) or "-"


@plugins_app.command("list")
def list_plugins(
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    requirements: bool = typer.Option(False, "--requirements",
                                      help="Pinned requirement lines of every active plugin."),
) -> None:
    """List installed plugins: name, version, status, what they provide, their hooks."""
    pm = get_plugin_manager()
    records = pm.listing()
    if requirements:
        seen: set[str] = set()
        for rec in sorted(records, key=lambda r: r.distribution.lower()):
            if rec.status != "active" or rec.distribution in seen or rec.version == "0":
                continue
            seen.add(rec.distribution)
            typer.echo(f"{rec.distribution}=={rec.version}")
        return
    if json_out:
        print_json([r.to_dict() for r in records])
        return
    rows = []
    for rec in records:
        status = rec.status if rec.error is None else f"{rec.status}: {rec.error}"
        rows.append([rec.name, rec.version, status, _short(rec), ", ".join(rec.hooks)])
    print_table("horizon-flow plugins", ["name", "version", "status", "provides", "hooks"], rows)


def _defaults(cls: type | None) -> dict[str, Any]:
    if cls is None or not attrs.has(cls):
        return {}
    try:
        inst = cls()
    except Exception:
        return {a.name: "(required)" for a in attrs.fields(cls)}
    from ..config.loader import _unstructure

    out: dict[str, Any] = _unstructure(inst)
    return out


@plugins_app.command("info")
def info(name: str = typer.Argument(..., help="Plugin (entry point or distribution) name."),
         json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show a plugin's components, config classes with defaults, hooks and location."""
    from ..errors import PluginError

    pm = get_plugin_manager()
    rec = pm.record_for(name)
    if rec is None:
        names = ", ".join(r.name for r in pm.listing())
        raise PluginError(f"no plugin named {name!r} (installed: {names})")
    components: list[dict[str, Any]] = []
    dist = rec.distribution
    groups: list[tuple[str, list[Any]]] = [
        ("detector", pm.detector_specs(False)), ("profiler", pm.profiler_specs(False)),
        ("venue", pm.venue_specs(False)), ("store", pm.store_specs(False)),
        ("alert_router", pm.alert_router_specs(False))]
    for kind, specs in groups:
        for spec in specs:
            if spec.plugin != dist:
                continue
            cls = getattr(spec, "config_class", None)
            section = {"detector": f"detectors.{spec.name}", "venue": f"venues.{spec.name}",
                       "profiler": "actors"}.get(kind)
            cls_name = f"{cls.__module__}.{cls.__qualname__}" if cls else None
            components.append({"kind": kind, "name": spec.name,
                               "description": spec.description,
                               "config_section": section if cls is not None else None,
                               "config_class": cls_name, "defaults": _defaults(cls)})
    for sec in pm.config_sections():
        if sec.plugin == dist:
            cls = sec.config_class
            components.append({"kind": "config_section", "name": sec.path,
                               "description": sec.description, "config_section": sec.path,
                               "config_class": f"{cls.__module__}.{cls.__qualname__}",
                               "defaults": _defaults(cls)})
    data = rec.to_dict() | {"components": components}
    if rec.name == CORE_PLUGIN_NAME:
        data["location"] = __import__("horizon_flow_core").__file__
    if json_out:
        print_json(data)
        return
    console.print(f"[bold]{rec.name}[/bold] ({rec.distribution} {rec.version}): {rec.status}")
    if rec.error:
        console.print(f"  error: {rec.error}", markup=False)
    console.print(f"  entry point: {rec.entry_point}", markup=False)
    console.print(f"  location: {data['location']}", markup=False)
    console.print(f"  hooks: {', '.join(rec.hooks) or '-'}", markup=False)
    for c in components:
        console.print(f"  {c['kind']} [bold]{c['name']}[/bold]: {c['description']}")
        if c["config_section"]:
            console.print(f"    [{c['config_section']}] ({c['config_class']})", markup=False)
            for k, v in c["defaults"].items():
                console.print(f"      {k} = {v!r}", markup=False)


def register(app: typer.Typer) -> None:
    from .plugins_new import new_plugin

    if not any(c.name == "new" for c in plugins_app.registered_commands):
        plugins_app.command("new")(new_plugin)
    app.add_typer(plugins_app, name="plugins")
