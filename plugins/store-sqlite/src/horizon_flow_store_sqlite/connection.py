"""Opening SQLite connections with the pragmas the stores rely on, failing clearly."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from horizon_flow_core.errors import StoreError

from .errors import store_error
from .urls import StoreLocation

log = logging.getLogger("horizon_flow.store.sqlite")


def _check_path(loc: StoreLocation, *, read_only: bool) -> None:
    """Fail before SQLite does, with a message naming the actual problem."""
    path = loc.path
    assert path is not None
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a store file")
    if not parent.is_dir():
        raise StoreError(f"{path}: directory {parent} does not exist; create it first")
    if read_only:
        if not path.exists():
            raise StoreError(f"{path}: no such store file")
        if not os.access(path, os.R_OK):
            raise StoreError(f"{path}: not readable (permission denied)")
        return
    if path.exists():
        if not os.access(path, os.W_OK):
            raise StoreError(f"{path}: the store file is read-only; it cannot be written")
        if not os.access(parent, os.W_OK):
            raise StoreError(f"{path}: directory {parent} is read-only (SQLite's write-ahead "
                             "log needs to create files beside the store)")
    elif not os.access(parent, os.W_OK):
        raise StoreError(f"{path}: directory {parent} is read-only; cannot create the store")


def _unchangeable(path: Path) -> bool:
    """No writer can exist: the directory is not writable and no WAL is pending."""
    parent = path.parent if str(path.parent) else Path(".")
    return not os.access(parent, os.W_OK) and not Path(f"{path}-wal").exists()


def open_connection(loc: StoreLocation, *, read_only: bool = False,
                    synchronous: str | None = None) -> sqlite3.Connection:
    """Open ``loc``: WAL mode and the configured pragmas for writers, ``mode=ro`` for readers.

    The connection is in autocommit mode (``isolation_level=None``): the stores
    open their own ``BEGIN IMMEDIATE`` transactions, never implicit ones. It may
    be used from several threads; the stores serialise access with a lock.
    """
    opts = loc.options
    timeout_s = opts.busy_timeout_ms / 1000.0
    try:
        if loc.path is None:
            conn = sqlite3.connect(":memory:", timeout=timeout_s, isolation_level=None,
                                   check_same_thread=False)
        else:
            _check_path(loc, read_only=read_only)
            if read_only:
                uri = loc.path.resolve().as_uri() + "?mode=ro"
                if _unchangeable(loc.path):
                    # A WAL reader needs to create the -shm file; on read-only media
                    # nobody can write the file, so it is safely opened as immutable.
                    uri += "&immutable=1"
                conn = sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None,
                                       check_same_thread=False)
            else:
                conn = sqlite3.connect(str(loc.path), timeout=timeout_s, isolation_level=None,
                                       check_same_thread=False)
    except sqlite3.Error as exc:
        raise store_error(loc.label, "opening the store", exc) from None
    try:
        # The first read of the header: a file that is not a database fails here.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute(f"PRAGMA busy_timeout = {int(opts.busy_timeout_ms)}")
        conn.execute(f"PRAGMA cache_size = {-1024 * int(opts.cache_mb)}")
        if not read_only:
            if loc.path is not None:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(f"{loc.label}: could not switch to WAL mode (got {mode})")
            conn.execute(f"PRAGMA synchronous = {(synchronous or opts.synchronous).upper()}")
            if opts.max_page_count:
                conn.execute(f"PRAGMA max_page_count = {int(opts.max_page_count)}")
    except sqlite3.Error as exc:
        conn.close()
        raise store_error(loc.label, "opening the store", exc) from None
    except StoreError:
        conn.close()
        raise
    return conn
