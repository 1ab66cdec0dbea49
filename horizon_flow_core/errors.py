"""Error types the core raises.

Every error the CLI can meet derives from :class:`FlowError` and renders as
one readable line naming where it happened (file, line, field, plugin); the
CLI prints that line and exits non-zero instead of a traceback.
"""

from __future__ import annotations

import reprlib
from typing import Any, Final


class FlowError(Exception):
    """Base class of every expected horizon-flow error."""

    #: process exit code the CLI uses for this error
    exit_code: int = 1


class ConfigError(FlowError):
    """A config file is unreadable, has an unknown key, a wrong type or a value out of range."""

    exit_code = 2


class FeedError(FlowError):
    """A feed line or venue frame cannot be turned into events."""

    def __init__(self, reason: str, *, source: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.reason = reason
        self.source = source
        self.line = line
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        where = []
        if self.source:
            where.append(self.source if self.line is None else f"{self.source}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class FrameError(FeedError):
    """A venue frame has a shape the venue plugin does not know (kept as a reject)."""


class PluginError(FlowError):
    """A plugin failed to load, registered a clashing name or speaks an unsupported API."""


class StoreError(FlowError):
    """A store cannot be opened, written or verified."""


class AuditChainError(FlowError):
    """The audit chain does not verify."""


class _Preview(reprlib.Repr):
    """``repr`` bounded in depth, length and integer size: safe on any decoded JSON."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = 80
        self.maxother = 80
        self.maxlong = 60

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 200:  # repr() of a huge int is slow, or refused past 4300 digits
            return f"<{x.bit_length()}-bit integer>"
        return super().repr_int(x, level)


_PREVIEW: Final = _Preview()


def preview(value: Any, limit: int = 40) -> str:
    """A short repr of a bad value for an error message: never recurses, never raises.

    ``repr`` of a 1000-deep list (orjson decodes nesting up to 1024) raises
    RecursionError, and of an integer of more than 4300 digits ValueError; an
    error message about a malformed frame must not fail itself.
    """
    try:
        return _PREVIEW.repr(value)[:limit]
    except Exception:  # an object (not decoded JSON) that cannot print itself
        return f"<{type(value).__name__}>"
