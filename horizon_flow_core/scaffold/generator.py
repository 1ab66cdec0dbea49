"""Render a plugin distribution from the templates and write it, all or nothing.

Templates live beside this module (``templates/common`` for every kind, then
``templates/<kind>``), one ``.tmpl`` file per output file. Path parts
``__package__`` and ``__test_module__`` and ``{{var}}`` placeholders in the
text are replaced by the plugin's names (:class:`~.names.PluginNames`). The
distribution is written to a hidden temporary folder first and renamed into
place, so a failure never leaves half a plugin behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import attrs

from .names import PluginNames, ScaffoldError, plugin_names

_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
_SUFFIX = ".tmpl"

#: third-party requirements each kind's skeleton imports (besides the core)
KIND_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "detector": ("attrs>=23.2",),
    "venue": ("attrs>=23.2", "orjson>=3.10", "websockets>=13"),
    "store": ("attrs>=23.2", "orjson>=3.10"),
    "alert": ("attrs>=23.2", "orjson>=3.10"),
}

KIND_SUMMARY: dict[str, str] = {
    "detector": "a horizon-flow detector",
    "venue": "a horizon-flow venue: frame normalizer and live source",
    "store": "a horizon-flow store backend: JSON Lines flow store and audit sink",
    "alert": "a horizon-flow alert router: JSON Lines file and webhook delivery",
}


@attrs.frozen
class Scaffold:
    """What :func:`scaffold` wrote."""

    names: PluginNames
    root: Path
    files: tuple[str, ...]


def _template_root() -> Traversable:
    return resources.files("horizon_flow_core.scaffold").joinpath("templates")


def _walk(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                out.extend(_walk(child, rel + "/"))
        elif child.name.endswith(_SUFFIX):
            out.append((rel[: -len(_SUFFIX)], child))
    return out


def template_vars(names: PluginNames) -> dict[str, str]:
    deps = (names.core_requirement, *KIND_DEPENDENCIES[names.kind])
    values = names.as_template_vars()
    values["dependencies"] = "\n".join(f'    "{d}",' for d in deps)
    values["summary"] = KIND_SUMMARY[names.kind]
    return values


def render_text(text: str, values: dict[str, str], *, where: str) -> str:
    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ScaffoldError(f"template {where}: unknown placeholder {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER.sub(sub, text)


def render(names: PluginNames) -> dict[str, str]:
    """Every file of the distribution: relative path -> text."""
    values = template_vars(names)
    root = _template_root()
    files: dict[str, str] = {}
    for group in ("common", names.kind):
        for rel, node in _walk(root.joinpath(group)):
            path = rel.replace("__package__", names.package).replace(
                "__test_module__", names.test_module)
            if path == "gitignore":  # a dot file would be easy to miss among the templates
                path = ".gitignore"
            files[path] = render_text(node.read_text(encoding="utf-8"), values,
                                      where=f"{group}/{rel}")
    return dict(sorted(files.items()))


def scaffold(kind: str, name: str, directory: str | Path = ".") -> Scaffold:
    """Write the distribution ``horizon-flow-<kind>-<name>`` into ``directory/<kind>-<name>``."""
    names = plugin_names(kind, name)
    parent = Path(directory)
    if parent.exists() and not parent.is_dir():
        raise ScaffoldError(f"{parent}: not a directory")
    target = parent / names.folder
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another name or --dir")
    files = render(names)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{names.folder}-", dir=parent))
    except OSError as exc:
        raise ScaffoldError(f"{parent}: cannot create the plugin here: "
                            f"{exc.strerror or exc}") from None
    try:
        for rel, text in files.items():
            out = staging / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a plugin folder is not
        if target.exists():  # created meanwhile by someone else
            raise ScaffoldError(f"{target} already exists; choose another name or --dir")
        staging.rename(target)
    except OSError as exc:
        raise ScaffoldError(f"{target}: cannot write the plugin: {exc.strerror or exc}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return Scaffold(names=names, root=target, files=tuple(files))
