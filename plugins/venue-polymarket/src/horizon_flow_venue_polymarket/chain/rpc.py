"""Polygon JSON-RPC through web3: error classes, retries with backoff, caches.

web3 is imported here, lazily, and nowhere on the import path of the plugin
module. The RPC URL carries the provider's key: it is never logged, and every
error message that leaves this module passes through
:func:`horizon_flow_core.logs.redact` (and has the URL itself masked).

Answers are sorted into four kinds (:func:`classify`):

* ``rate_limit``: HTTP 429, JSON-RPC ``-32005`` or a "rate limit" message:
  wait (exponential backoff with jitter) and retry the same request;
* ``range``: "block range too large", "more than 10000 results", "response
  size exceeded" (Alchemy, Infura, QuickNode wordings): the caller halves the
  ``eth_getLogs`` block range;
* ``retry``: transport errors, timeouts, HTTP 5xx, other server errors;
* ``disconnected``: a WebSocket connection closed under the call: raised at
  once, so the live follower reconnects instead of retrying on a dead socket;
* ``fatal``: anything else (bad params, method not found): raised at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from horizon_flow_core.errors import FlowError
from horizon_flow_core.logs import redact

from ..backoff import Backoff
from ..config import PolymarketConfig
from ..lru import BoundedDict
from . import contracts as c
from .decode import plain_log

log = logging.getLogger("horizon_flow.venue.polymarket.chain")

_RATE_WORDS = ("rate limit", "rate-limit", "ratelimit", "too many requests", "request rate",
               "throttl", "capacity", "compute units", "slow down")
_RANGE_WORDS = ("range", "more than", "10000 results", "10,000 results", "response size",
                "too large", "too big", "too many blocks", "too many results", "query timeout",
                "limit the query", "returned more")


class ChainRpcError(FlowError):
    """An RPC call failed for good (after retries, or a fatal answer). One line, no secrets."""


class RangeTooLarge(ChainRpcError):
    """The node refused an ``eth_getLogs`` block range; retry with a smaller one."""


def _rpc_error(exc: BaseException) -> tuple[int | None, str]:
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        err = response["error"]
        code = err.get("code")
        return (code if isinstance(code, int) else None), str(err.get("message") or "")
    if exc.args and isinstance(exc.args[0], dict):  # older web3: ValueError({code, message})
        err = exc.args[0]
        code = err.get("code")
        return (code if isinstance(code, int) else None), str(err.get("message") or "")
    return None, str(exc)


def classify(exc: BaseException) -> str:
    """``rate_limit``, ``range``, ``retry``, ``disconnected`` or ``fatal`` for a web3 error."""
    status = getattr(getattr(exc, "response", None), "status_code", None)  # requests
    status = status or getattr(exc, "status", None)  # aiohttp
    if not isinstance(status, int):
        status = None
    if status == 429:
        return "rate_limit"
    if status == 413:
        return "range"
    if isinstance(status, int) and status >= 500:
        return "retry"
    name = type(exc).__name__
    if name == "TooManyRequests":
        return "rate_limit"
    code, message = _rpc_error(exc)
    text = message.lower()
    if code is not None or name.endswith("RPCError"):
        if any(w in text for w in _RATE_WORDS):
            return "rate_limit"
        if any(w in text for w in _RANGE_WORDS):
            return "range"
        if code == -32005:  # "limit exceeded": Infura uses it for rate limits
            return "rate_limit"
        if code in (-32601, -32602, -32600, -32700):
            return "fatal"
        return "retry"
    if name in ("ConnectionClosedError", "ConnectionClosedOK", "ConnectionClosed",
                "PersistentConnectionClosedOK", "PersistentConnectionError", "TaskNotRunning",
                "ReadBufferLimitReached", "SubscriptionHandlerTaskException"):
        return "disconnected"  # a persistent connection is gone: reconnect, do not retry on it
    if isinstance(exc, (TimeoutError, ConnectionError, OSError)):
        return "retry"
    if name in ("ProviderConnectionError", "TimeExhausted", "RequestTimedOut", "Timeout",
                "ConnectTimeout", "ReadTimeout", "ChunkedEncodingError",
                "ClientConnectorError", "ServerDisconnectedError"):
        return "retry"
    if status is not None:  # other HTTP 4xx
        return "fatal"
    return "fatal"


def describe(exc: BaseException, url: str | None) -> str:
    """A one-line description with the URL and anything secret-looking masked."""
    code, message = _rpc_error(exc)
    text = f"{type(exc).__name__}: " + (f"[{code}] {message}" if code is not None else message)
    if url:
        text = text.replace(url, "<rpc>")
        for secret in url_secrets(url):  # providers echo keys in their messages
            text = text.replace(secret, "***")
    return redact(" ".join(text.split()))[:300]


def url_secrets(url: str) -> list[str]:
    """Parts of an RPC URL that may be keys: path segments, query values, user info."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(url)
    found = [seg for seg in parts.path.split("/") if len(seg) >= 8]
    found += [v for _, v in parse_qsl(parts.query) if len(v) >= 8]
    if parts.username:
        found.append(parts.username)
    if parts.password:
        found.append(parts.password)
    return sorted(set(found), key=len, reverse=True)


def log_filter(exchanges: Sequence[str], from_block: int | None = None,
               to_block: int | str | None = None) -> dict[str, Any]:
    """The ``eth_getLogs`` / ``eth_subscribe`` filter: our exchanges, our topics."""
    from web3 import Web3

    flt: dict[str, Any] = {"address": [Web3.to_checksum_address(a) for a in exchanges],
                           "topics": [list(c.TOPICS)]}
    if from_block is not None:
        flt["fromBlock"] = from_block
    if to_block is not None:
        flt["toBlock"] = to_block
    return flt


class Retrier:
    """Runs a call, retrying rate limits and transient errors with backoff."""

    def __init__(self, config: PolymarketConfig, url: str | None,
                 sleep: Callable[[float], Any] = time.sleep) -> None:
        self.config = config
        self.url = url
        self.sleep = sleep
        self.retries = 0  #: retries done so far (observable)
        self.rate_limited = 0  #: rate-limit answers met so far

    def delays(self) -> Backoff:
        return Backoff(self.config.rpc_backoff_initial_s, self.config.rpc_backoff_max_s)

    def check(self, exc: BaseException, attempt: int, what: str) -> str:
        """Classify a failure; raise when it is time to give up, else return its kind."""
        kind = classify(exc)
        detail = describe(exc, self.url)
        if kind == "range":
            raise RangeTooLarge(f"{what}: {detail}") from None
        if kind in ("fatal", "disconnected") or attempt >= self.config.rpc_max_attempts:
            raise ChainRpcError(f"{what} failed after {attempt} attempt(s): {detail}") from None
        if kind == "rate_limit":
            self.rate_limited += 1
        self.retries += 1
        log.warning("%s: %s (%s); retrying", what, detail, kind)
        return kind

    def call(self, fn: Callable[[], Any], what: str) -> Any:
        backoff = self.delays()
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except Exception as exc:
                kind = self.check(exc, attempt, what)
                # a rate limit waits twice as long as a transient glitch
                self.sleep(backoff.next() * (2 if kind == "rate_limit" else 1))

    async def acall(self, fn: Callable[[], Any], what: str) -> Any:
        """``call`` for coroutines (AsyncWeb3 over WebSocket)."""
        import asyncio

        backoff = self.delays()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await fn()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                kind = self.check(exc, attempt, what)
                await asyncio.sleep(backoff.next() * (2 if kind == "rate_limit" else 1))


class ChainRpc:
    """Synchronous web3 ``HTTPProvider`` client for backfills (also usable from a thread)."""

    def __init__(self, config: PolymarketConfig, url: str, *,
                 sleep: Callable[[float], Any] = time.sleep) -> None:
        from web3 import HTTPProvider, Web3

        self.config = config
        # web3's own retry loop is off: ours classifies rate limits and range errors.
        provider = HTTPProvider(url, request_kwargs={"timeout": config.rpc_timeout_s},
                                exception_retry_configuration=None)
        self.w3 = Web3(provider)
        self.retrier = Retrier(config, url, sleep)
        self._block_ts: BoundedDict[int, int] = BoundedDict(config.block_cache_size)
        self._tx: BoundedDict[str, dict[str, Any]] = BoundedDict(config.block_cache_size)
        self.calls: dict[str, int] = {}

    def _count(self, method: str) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1

    def head(self) -> int:
        self._count("eth_blockNumber")
        return int(self.retrier.call(lambda: self.w3.eth.block_number, "eth_blockNumber"))

    def get_logs(self, exchanges: Sequence[str], from_block: int, to_block: int
                 ) -> list[dict[str, Any]]:
        flt = log_filter(exchanges, from_block, to_block)
        self._count("eth_getLogs")
        logs = self.retrier.call(lambda: self.w3.eth.get_logs(flt),  # type: ignore[arg-type]
                                 f"eth_getLogs {from_block}-{to_block}")
        return [plain_log(x) for x in logs]

    def block_timestamp(self, number: int) -> int:
        cached = self._block_ts.get(number)
        if cached is not None:
            return cached
        self._count("eth_getBlockByNumber")
        block = self.retrier.call(lambda: self.w3.eth.get_block(number),
                                  f"eth_getBlockByNumber {number}")
        ts = int(block["timestamp"])
        self._block_ts.put(number, ts)
        return ts

    def tx_info(self, tx_hash: str) -> dict[str, Any]:
        cached = self._tx.get(tx_hash)
        if cached is not None:
            return dict(cached)
        self._count("eth_getTransactionByHash")
        tx = self.retrier.call(lambda: self.w3.eth.get_transaction(tx_hash),  # type: ignore
                               f"eth_getTransactionByHash {tx_hash[:12]}")
        info = tx_fields(tx)
        self._tx.put(tx_hash, info)
        return dict(info)


def tx_fields(tx: Any) -> dict[str, Any]:
    """The enrichment kept from a transaction, in wire form (hex), for the recording."""
    out: dict[str, Any] = {}
    gas_price = tx.get("gasPrice")
    if gas_price is not None:
        out["gasPrice"] = hex(gas_price) if isinstance(gas_price, int) else gas_price
    nonce = tx.get("nonce")
    if nonce is not None:
        out["nonce"] = hex(nonce) if isinstance(nonce, int) else nonce
    sender = tx.get("from")
    if sender:
        out["from"] = str(sender).lower()
    return out
