"""``flow plugins new KIND NAME``: scaffold a plugin distribution that passes its own tests."""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from ..scaffold import scaffold
from .output import console, print_json


class Kind(enum.StrEnum):
    detector = "detector"
    venue = "venue"
    store = "store"
    alert = "alert"


def new_plugin(
    kind: Kind = typer.Argument(..., metavar="KIND",
                                help="What the plugin provides: detector, venue, store or "
                                     "alert."),
    name: str = typer.Argument(..., metavar="NAME",
                               help="Short name: lower-case letters, digits and hyphens, "
                                    "at most 24 (e.g. late-ramp)."),
    directory: Path = typer.Option(Path("."), "--dir", "-d",
                                   help="Folder to create the plugin folder in."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Create horizon-flow-KIND-NAME: pyproject, package, config class, skeleton, tests, README."""
    result = scaffold(kind.value, name, directory)
    names = result.names
    if json_out:
        print_json({"distribution": names.dist, "package": names.package,
                    "component": names.component, "entry_point": names.entry_point,
                    "root": str(result.root), "files": list(result.files)})
        return
    console.print(f"created [bold]{names.dist}[/bold] in {result.root}", markup=True)
    for rel in result.files:
        console.print(f"  {rel}", markup=False)
    console.print("next:", markup=False)
    console.print(f"  pip install -e '{result.root}[test]'", markup=False)
    console.print(f"  pytest {result.root}", markup=False)
    console.print(f"  flow plugins info {names.entry_point}", markup=False)
