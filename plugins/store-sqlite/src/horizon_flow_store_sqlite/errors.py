"""Turn sqlite3 exceptions into one-line StoreErrors that say what to do."""

from __future__ import annotations

import sqlite3

from horizon_flow_core.errors import StoreError

# Primary SQLite result codes (the low byte of an extended code).
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26


def primary_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def store_error(label: str, action: str, exc: sqlite3.Error) -> StoreError:
    """A StoreError for ``exc`` raised while ``action`` (e.g. "writing 500 findings")."""
    code = primary_code(exc)
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if code == SQLITE_FULL:
        msg = (f"{label}: disk full (or the store's max_page_count reached) while {action}; "
               "the batch was rolled back and is kept in memory: free space and flush again")
    elif code == SQLITE_READONLY or code == SQLITE_PERM:
        msg = (f"{label}: the store is read-only (file, directory or file system not writable) "
               f"while {action}")
    elif code == SQLITE_NOTADB:
        msg = f"{label}: not a SQLite database (the file has some other content)"
    elif code == SQLITE_CORRUPT:
        msg = f"{label}: the database file is corrupt ({detail}); restore it from a backup"
    elif code == SQLITE_CANTOPEN:
        msg = f"{label}: cannot open the database file (missing directory or no permission)"
    elif code in (SQLITE_BUSY, SQLITE_LOCKED):
        msg = (f"{label}: the store is locked by another process while {action}; "
               "raise busy_timeout_ms or stop the other writer")
    elif code == SQLITE_IOERR:
        msg = f"{label}: I/O error while {action} ({detail}); check the disk"
    else:
        msg = f"{label}: SQLite error while {action}: {detail}"
    err = StoreError(msg)
    err.sqlite_code = code  # type: ignore[attr-defined]
    return err
