"""Logging under the ``horizon_flow`` logger hierarchy, plain or JSON lines, with redaction.

Secrets must never reach a log: URLs with credentials or keys (RPC endpoints,
webhooks) are masked by :class:`RedactingFilter`, attached to our handlers
and to the loggers of third-party libraries known to print request URLs.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import Any

from .jsonio import dumps

ROOT = "horizon_flow"
THIRD_PARTY_LOGGERS = ("web3", "websockets", "urllib3", "apprise", "asyncio")

_URL_SECRET = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<rest>[^\s'\"<>]+)"
)
_QUERY_SECRET = re.compile(r"(?i)((?:api[_-]?key|token|key|secret|password|passphrase|signature)"
                           r"=)[^&\s'\"]+")


def redact(text: str) -> str:
    """Mask everything after the host of URLs, and secret-looking query values."""

    def _url(m: re.Match[str]) -> str:
        rest = m.group("rest")
        if "@" in rest.split("/", 1)[0]:
            rest = "<redacted>@" + rest.split("@", 1)[1]
        host, sep, path = rest.partition("/")
        tail = "/<redacted>" if sep and path else sep
        return f"{m.group('scheme')}{host}{tail}"

    text = _URL_SECRET.sub(_url, text)
    text = _QUERY_SECRET.sub(r"\1<redacted>", text)
    for name, value in _secret_env_values():
        if value and value in text:
            text = text.replace(value, f"<{name}>")
    return text


def _secret_env_values() -> list[tuple[str, str]]:
    names = [n for n in os.environ if any(t in n.upper() for t in
                                          ("KEY", "SECRET", "TOKEN", "PASSWORD", "WEBHOOK",
                                           "RPC_URL", "_URL"))]
    return [(n, os.environ[n]) for n in sorted(names) if len(os.environ[n]) >= 8]


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:
            return True
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return dumps(out).decode()


def teardown_logging() -> None:
    """Undo :func:`setup_logging` (an in-process ``main()`` leaves logging as it found it)."""
    root = logging.getLogger(ROOT)
    for h in list(root.handlers):
        if getattr(h, "_horizon_flow", False):
            root.removeHandler(h)
            h.close()
    root.propagate = True
    root.setLevel(logging.NOTSET)
    for name in THIRD_PARTY_LOGGERS:
        lg = logging.getLogger(name)
        for f in [f for f in lg.filters if isinstance(f, RedactingFilter)]:
            lg.removeFilter(f)


def setup_logging(level: int = logging.WARNING, *, json: bool = False,
                  stream: Any = None, path: str | None = None) -> logging.Handler:
    """Configure the ``horizon_flow`` hierarchy (idempotent: replaces our earlier handler)."""
    root = logging.getLogger(ROOT)
    for h in list(root.handlers):
        if getattr(h, "_horizon_flow", False):
            root.removeHandler(h)
            h.close()
    handler: logging.Handler = (logging.FileHandler(path) if path
                                else logging.StreamHandler(stream or sys.stderr))
    handler._horizon_flow = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if json else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    for name in THIRD_PARTY_LOGGERS:
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in lg.filters):
            lg.addFilter(RedactingFilter())
    return handler
