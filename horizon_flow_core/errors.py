"""Error types the core raises.

Every error the CLI can meet derives from :class:`FlowError` and renders as
one readable line naming where it happened (file, line, field, plugin); the
CLI prints that line and exits non-zero instead of a traceback.
"""

from __future__ import annotations


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
