"""Repository-wide test hygiene: every test leaves logging as it found it.

Daemon and CLI tests configure the ``horizon_flow`` logger hierarchy and add
redacting filters to third-party loggers; restoring them after each test
keeps one test's logging set-up from changing what another test captures.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

_LOGGERS = ("", "horizon_flow", "web3", "websockets", "urllib3", "apprise", "asyncio")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    saved = []
    for name in _LOGGERS:
        lg = logging.getLogger(name)
        saved.append((lg, list(lg.handlers), list(lg.filters), lg.propagate, lg.level,
                      lg.disabled))
    yield
    for lg, handlers, filters, propagate, level, disabled in saved:
        for h in list(lg.handlers):
            if h not in handlers:
                lg.removeHandler(h)
        lg.filters[:] = filters
        lg.propagate = propagate
        lg.setLevel(level)
        lg.disabled = disabled
