"""``flow backup``: a consistent copy through SQLite's backup API, then verified.

Copying the file with ``cp`` while the store is in WAL mode misses committed
transactions still in the write-ahead log; the backup API copies a
consistent snapshot (writers may continue meanwhile). The copy is switched to
``journal_mode=DELETE`` so it is one self-contained file, fit for an archive
and for opening read-only; it is written as ``<name>.partial``, verified, and
only then renamed into place. An existing backup is never overwritten.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from horizon_flow_core.errors import StoreError

from .connection import open_connection
from .errors import store_error
from .urls import parse_store_url
from .verify import verify_store


def backup_store(src: str | os.PathLike[str], dest_dir: str | os.PathLike[str], *,
                 name: str | None = None) -> Path:
    """Back ``src`` (a path or sqlite URL) up into ``dest_dir``; returns the verified copy.

    ``dest_dir`` is created if missing. ``name`` defaults to the source file's
    name. Raises StoreError if the source cannot be read, the destination
    exists, or the copy does not verify (the copy is then left as
    ``<name>.partial`` for inspection).
    """
    loc = parse_store_url(src)
    if loc.path is None:
        raise StoreError("backup needs a store file, not an in-memory store")
    source = open_connection(loc, read_only=True)
    try:
        return backup_connection(source, loc.label, dest_dir, name or loc.path.name)
    finally:
        source.close()


def backup_connection(source: sqlite3.Connection, label: str,
                      dest_dir: str | os.PathLike[str], name: str) -> Path:
    """Back up an open connection's database to ``dest_dir/name``, then verify it."""
    dest_dir = Path(dest_dir).expanduser()
    dest = dest_dir / name
    partial = dest.with_name(dest.name + ".partial")
    if dest.exists():
        raise StoreError(f"{dest}: a backup already exists there; choose another directory")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{dest_dir}: cannot create the backup directory ({exc.strerror})") \
            from None
    if partial.exists():
        partial.unlink()
    try:
        target = sqlite3.connect(str(partial), isolation_level=None)
    except sqlite3.Error as exc:
        raise store_error(str(partial), "creating the backup file", exc) from None
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.Error as exc:
        raise store_error(str(partial), f"backing up {label}", exc) from None
    finally:
        target.close()

    problems = verify_store(partial)
    if problems:
        raise StoreError(f"{partial}: the backup does not verify: {problems[0]}"
                         + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, dest)
    dir_fd = os.open(dest_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return dest
