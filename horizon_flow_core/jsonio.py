"""JSON reading and writing, all through orjson.

``canonical`` is the one encoding used wherever bytes must be identical
across runs and machines: finding ids, audit hashes, exports. Keys are
sorted, floats use orjson's shortest round-trip form, no whitespace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError

_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


#: orjson's own function, not a wrapper: the feed reader calls it once per line.
loads: Callable[[bytes | bytearray | memoryview | str], Any] = orjson.loads


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def canonical(obj: Any) -> bytes:
    """Deterministic bytes for hashing and byte-identical exports."""
    return orjson.dumps(obj, option=_CANONICAL)


def pretty(obj: Any) -> bytes:
    return orjson.dumps(obj, option=_CANONICAL | orjson.OPT_INDENT_2)
