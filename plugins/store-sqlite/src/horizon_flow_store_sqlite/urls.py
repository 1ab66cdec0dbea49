"""Store locations: a bare path or a ``sqlite:`` URL, with options as query parameters.

The URL forms follow SQLAlchemy's convention, which operators already know:

* ``data/flow.db`` or ``/var/horizon/flow.db``: a bare path (no decoding);
* ``sqlite:///data/flow.db``: three slashes, a path relative to the working directory;
* ``sqlite:////var/horizon/flow.db``: four slashes, an absolute path;
* ``sqlite://`` or ``sqlite:///:memory:`` (or the bare path ``:memory:``): in memory;
* any of the above with ``?batch_size=1000&synchronous=full`` (see
  :class:`~horizon_flow_store_sqlite.options.SQLiteOptions`), and ``?mode=ro``
  to open for reading only (an archive, a restored backup on read-only media).

In a URL the path is percent-decoded (``%20`` for a space); a bare path never is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

from horizon_flow_core.errors import StoreError

from .options import SQLiteOptions, options_from_query

MEMORY = ":memory:"
_SCHEME = re.compile(r"^sqlite:", re.IGNORECASE)


@attrs.frozen
class StoreLocation:
    """Where a store lives. ``path`` is None for an in-memory store."""

    url: str
    path: Path | None
    options: SQLiteOptions
    read_only: bool = False

    @property
    def memory(self) -> bool:
        return self.path is None

    @property
    def label(self) -> str:
        """How errors name this store."""
        return MEMORY if self.path is None else str(self.path)


def parse_store_url(url_or_path: str | os.PathLike[str],
                    defaults: SQLiteOptions | None = None) -> StoreLocation:
    """Parse a store URL or path. Raises StoreError with one readable line."""
    base = defaults or SQLiteOptions()
    if isinstance(url_or_path, os.PathLike):
        return StoreLocation(os.fspath(url_or_path), Path(url_or_path).expanduser(), base)
    if not isinstance(url_or_path, str) or not url_or_path.strip():
        raise StoreError(f"store location {url_or_path!r}: empty; give a path or "
                         "sqlite:///path")
    text = url_or_path
    if not _SCHEME.match(text):
        if text == MEMORY:
            return StoreLocation(text, None, base)
        return StoreLocation(text, Path(text).expanduser(), base)

    parts = urlsplit(text)
    if not text.lower().startswith("sqlite://"):
        raise StoreError(f"store URL {text!r}: expected sqlite:///relative/path or "
                         "sqlite:////absolute/path")
    if parts.netloc:
        raise StoreError(f"store URL {text!r}: a sqlite URL has no host ({parts.netloc!r}); "
                         "use sqlite:///relative/path or sqlite:////absolute/path")
    if parts.fragment:
        raise StoreError(f"store URL {text!r}: unexpected fragment #{parts.fragment}")
    read_only = False
    try:
        params = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        for key, value in params:
            if key == "mode":
                if value not in ("ro", "rw"):
                    raise ValueError(f"mode={value!r}: expected ro or rw")
                read_only = value == "ro"
        options = options_from_query([(k, v) for k, v in params if k != "mode"], base)
    except ValueError as exc:
        raise StoreError(f"store URL {text!r}: {exc}") from None
    # urlsplit keeps the slash after the authority: "/rel/path" or "//abs/path".
    raw_path = parts.path[1:] if parts.path.startswith("/") else parts.path
    path = unquote(raw_path)
    if path in ("", MEMORY):
        return StoreLocation(text, None, options, read_only)
    if "\x00" in path:
        raise StoreError(f"store URL {text!r}: path contains a NUL byte")
    return StoreLocation(text, Path(path).expanduser(), options, read_only)
