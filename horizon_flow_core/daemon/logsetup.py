"""Logging of the daemon: ``[logging]`` applied, every record redacted, files reopenable.

:func:`horizon_flow_core.logs.setup_logging` configures the ``horizon_flow``
hierarchy with a redacting handler. Third-party libraries log under their own
names (``websockets.client``, ``urllib3.connectionpool``...) and a filter on
a parent logger does not apply to a child's records, so here the same
handler is also put on the root logger: whatever any library logs passes
the redaction before it is written, and nothing reaches Python's
unfiltered last-resort handler.

``reopen`` (SIGHUP, after logrotate moved the file) swaps the handler's
stream for a freshly opened file of the same name.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..logs import ROOT, THIRD_PARTY_LOGGERS, setup_logging
from .config import LoggingConfig

_ROOT_MARK = "_horizon_flow_root"


class DaemonLogging:
    def __init__(self, config: LoggingConfig, *, stream: Any = None,
                 level_override: str | None = None) -> None:
        self.config = config
        if config.file:
            Path(config.file).parent.mkdir(parents=True, exist_ok=True)
        level_name = (level_override or config.level).upper()
        level = logging.getLevelName(level_name)
        self.handler = setup_logging(level if isinstance(level, int) else logging.INFO,
                                     json=config.format == "json", stream=stream,
                                     path=config.file or None)
        for name, lvl in sorted(config.levels.items()):
            logging.getLogger(name).setLevel(lvl.upper())
        third = logging.getLevelName(config.third_party_level.upper())
        for name in THIRD_PARTY_LOGGERS:
            logging.getLogger(name).setLevel(third)
        root = logging.getLogger()
        for h in list(root.handlers):
            if getattr(h, _ROOT_MARK, False):
                root.removeHandler(h)
        self._root_handler = _Forward(self.handler)
        setattr(self._root_handler, _ROOT_MARK, True)
        root.addHandler(self._root_handler)
        if root.level == logging.NOTSET or root.level > third:
            root.setLevel(third)

    def reopen(self) -> bool:
        """Reopen the log file (SIGHUP). False when logging goes to a stream, not a file."""
        h = self.handler
        if not isinstance(h, logging.FileHandler):
            return False
        stream = open(h.baseFilename, h.mode, encoding=h.encoding)
        old = h.setStream(stream)  # type: ignore[arg-type]
        if old is not None:
            old.close()
        return True

    def close(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self._root_handler)


class _Forward(logging.Handler):
    """Hands records of non-``horizon_flow`` loggers to the daemon's (redacting) handler."""

    def __init__(self, target: logging.Handler) -> None:
        super().__init__()
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == ROOT or record.name.startswith(ROOT + "."):
            return  # already handled by the horizon_flow hierarchy
        if record.levelno >= self.target.level:
            self.target.handle(record)
