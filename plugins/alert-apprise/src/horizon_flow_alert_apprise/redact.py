"""Keep apprise URLs (they carry tokens and passwords) out of every log line and record.

Two layers: every ``scheme://...`` in a message becomes ``scheme://<redacted>``,
and the secret pieces of every URL this process loaded (passwords, user names,
long path segments and query values, which apprise prints on their own, e.g.
"Max retries exceeded with url: /hook/T0KEN") are replaced by ``<redacted>``.
A :class:`RedactingFilter` applies both to the ``apprise`` logger and to ours;
anything we store (dead letters, audit payloads) goes through :func:`redact`.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, unquote, urlsplit

REDACTED = "<redacted>"
_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]{0,30})://[^\s'\"<>()\[\]{}]+")
#: shorter pieces are too likely to be ordinary words ("hook", "api") to redact
MIN_FRAGMENT = 6
MIN_PASSWORD = 3

_lock = threading.Lock()
_fragments: tuple[str, ...] = ()


def url_scheme(url: str) -> str:
    """The scheme alone (``json``, ``mailtos``), the only part of a URL we ever print."""
    head, sep, _ = url.strip().partition("://")
    return head.lower() if sep and head.replace("+", "").isalnum() else "?"


def split_urls(value: str) -> list[str]:
    """One env var may hold several apprise URLs separated by commas or whitespace."""
    return [u for u in re.split(r"[\s,]+", value.strip()) if u]


def secret_fragments(url: str) -> set[str]:
    out = {url.strip()}
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return out
    password = parts.password or ""
    for piece in (parts.username, parts.netloc):
        if piece:
            out.add(piece)
            out.add(unquote(piece))
    for seg in parts.path.split("/"):
        out.add(seg)
        out.add(unquote(seg))
    for k, v in parse_qsl(parts.query, keep_blank_values=False):
        # options such as mode=insecure are not secrets; tokens passed as options are
        if k.lower() in _SECRET_KEYS or len(v) >= 16:
            out.add(v)
    keep = {f for f in out if len(f) >= MIN_FRAGMENT and f not in _HARMLESS}
    # a password is secret whatever its length (but a one-letter one would blank
    # every such letter in every message: those rely on apprise's own masking)
    keep |= {p for p in (password, unquote(password)) if len(p) >= MIN_PASSWORD}
    return keep


# parts of local test URLs and common hosts that are not secrets and would
# otherwise blank out ordinary words in messages
_HARMLESS = frozenset({"127.0.0.1", "localhost"})
_SECRET_KEYS = frozenset({"token", "key", "apikey", "api_key", "secret", "password", "pass",
                          "pw", "auth", "access_token", "webhook", "user", "routing_key",
                          "integration_key", "integrationkey", "routingkey", "botkey"})


def register_secret_url(url: str) -> None:
    """Remember the secret pieces of ``url`` so that no log line shows them."""
    global _fragments
    new = secret_fragments(url)
    with _lock:
        merged = set(_fragments) | new
        # longest first, so a whole URL goes before the token inside it
        _fragments = tuple(sorted(merged, key=lambda f: (-len(f), f)))


def redact(text: str) -> str:
    if not text:
        return text
    # whole URLs first (keeping the scheme, which helps an operator), then loose pieces
    out = _URL.sub(lambda m: f"{m.group(1)}://{REDACTED}", text)
    for frag in _fragments:
        if frag in out:
            out = out.replace(frag, REDACTED)
    return out


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback text) with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own handling
            return True
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()
#: urllib3 logs request lines (with the URL path, where webhook tokens live) at DEBUG
LOGGER_NAMES = ("apprise", "horizon_flow.alerts", "urllib3.connectionpool")


def install_log_redaction() -> None:
    """Attach the filter to the apprise logger and ours (idempotent)."""
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
