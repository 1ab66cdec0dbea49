"""Output helpers: tables for humans, JSON for machines, one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from ..jsonio import dumps, pretty

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(obj: Any, *, indent: bool = True) -> None:
    sys.stdout.buffer.write((pretty(obj) if indent else dumps(obj)) + b"\n")
    sys.stdout.flush()


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*["" if v is None else str(v) for v in r])
    console.print(table)


def warn(message: str) -> None:
    err_console.print(f"warning: {message}", markup=False)


def info(message: str) -> None:
    err_console.print(message, markup=False)


def progress_bar(label: str, enabled: bool) -> tuple[Callable[[int, int], None] | None,
                                                      Callable[[], None]]:
    """A ``progress(done, total)`` callback drawing a bar on stderr, and its ``stop``."""
    if not enabled:
        return None, lambda: None
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    prog = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=err_console,
                    transient=False)
    prog.start()
    task = prog.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        prog.update(task, completed=done, total=total)

    return update, prog.stop
