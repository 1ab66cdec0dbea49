"""``flow bench``: run the benchmark suite of a source checkout (``benchmarks/run.py``).

The suite is not part of the installed package (it generates feeds of a
million events and spawns subprocesses); this command finds it next to the
``horizon_flow_core`` package of an editable or source install and runs it
with this interpreter, passing the options through.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from ..errors import FlowError


def suite_script() -> Path:
    """``benchmarks/run.py`` beside the package, or a FlowError saying where it looked."""
    here = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
    if not here.is_file():
        raise FlowError(f"the benchmark suite is not installed ({here} not found); it comes "
                        "with a source checkout of horizon-flow: run 'flow bench' from an "
                        "editable install (pip install -e .) of the repository")
    return here


def bench(
    quick: bool = typer.Option(False, "--quick", help="Smaller feeds (about a minute)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write results as JSON."),
    only: str | None = typer.Option(
        None, "--only",
        help="Comma-separated sections: throughput, latency, memory, storm, detectors."),
    record_baseline: bool = typer.Option(False, "--record-baseline",
                                         help="Write the ratios to benchmarks/baseline.json."),
) -> None:
    """Measure throughput, latency, memory, store writes and per-detector cost."""
    args = [sys.executable, str(suite_script())]
    if quick:
        args.append("--quick")
    if json_out is not None:
        args += ["--json", str(json_out)]
    if only:
        args += ["--only", only]
    if record_baseline:
        args.append("--record-baseline")
    code = subprocess.call(args)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
