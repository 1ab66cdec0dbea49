"""REST backfill of Kalshi's public trades for one market and time range.

``GET {rest_url}/markets/trades?ticker=&min_ts=&max_ts=&limit=&cursor=``
returns ``{"trades": [...], "cursor": "..."}``, newest first; an empty cursor
ends the paging. Requests are signed (same RSA-PSS headers as the socket,
over the path without its query) when the environment names a key. Only the
standard library's ``urllib`` is used.

Each page goes through :class:`~.normalizer.KalshiNormalizer` one trade at a
time (as ``{"trades": [trade]}``, the same path ``flow scan`` takes for a
recorded page), so one unreadable trade is rejected alone and the rest of
the page is kept.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from horizon_flow_core.errors import FlowError, FrameError
from horizon_flow_core.events import MarketEvent

from .auth import KalshiAuthError, KalshiSigner
from .config import KalshiConfig
from .normalizer import KalshiNormalizer

log = logging.getLogger("horizon_flow.venue.kalshi")

TRADES_PATH = "/markets/trades"
_USER_AGENT = "horizon-flow-venue-kalshi/0.1"


class KalshiRestError(FlowError):
    """A REST request to Kalshi failed for good (after its retries)."""


class TradeBackfill:
    """Pages through ``/markets/trades``. ``clock``/``sleep`` are injectable for tests."""

    def __init__(self, config: KalshiConfig | None = None, *, signer: KalshiSigner | None = None,
                 environ: Mapping[str, str] | None = None,
                 clock: Callable[[], int] = time.time_ns,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config if config is not None else KalshiConfig()
        if signer is None and KalshiSigner.available(self.config, environ):
            signer = KalshiSigner.from_env(self.config, environ)
        self.signer = signer
        self.clock = clock
        self.sleep = sleep
        #: pages fetched by the last :meth:`pages` run
        self.pages_fetched = 0

    # ------------------------------------------------------------------ HTTP

    def _get(self, url: str) -> Any:
        cfg = self.config
        path = urlsplit(url).path
        host = urlsplit(url).netloc
        last_error = ""
        for attempt in range(cfg.rest_retries + 1):
            if attempt:
                self.sleep(min(cfg.backoff_max_s, cfg.backoff_initial_s * 2 ** (attempt - 1)))
            headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
            if self.signer is not None:
                headers.update(self.signer.headers(self.clock() // 1_000_000, "GET", path))
            request = urllib.request.Request(url, headers=headers, method="GET")
            try:
                with urllib.request.urlopen(request, timeout=cfg.rest_timeout_s) as response:
                    body = response.read()
            except urllib.error.HTTPError as exc:
                if exc.code in (401, 403):
                    raise KalshiAuthError(
                        f"kalshi REST: {host} refused authentication (HTTP {exc.code}) for GET "
                        f"{path}; check {cfg.key_id_env} and {cfg.private_key_path_env}"
                    ) from None
                detail = exc.read(200).decode("utf-8", errors="replace").strip()
                last_error = f"HTTP {exc.code}" + (f": {detail}" if detail else "")
                if exc.code == 429 or exc.code >= 500:
                    log.warning("kalshi REST: GET %s gave %s; retrying", path, last_error)
                    continue
                raise KalshiRestError(f"kalshi REST: GET {path} failed with {last_error}"
                                      ) from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last_error = str(reason) or type(exc).__name__
                log.warning("kalshi REST: GET %s failed (%s); retrying", path, last_error)
                continue
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                raise KalshiRestError(f"kalshi REST: GET {path} returned invalid JSON: "
                                      f"{body[:60]!r}") from None
        raise KalshiRestError(f"kalshi REST: GET {path} failed after {cfg.rest_retries + 1} "
                              f"attempt(s): {last_error}")

    # ------------------------------------------------------------------ paging

    def pages(self, ticker: str, min_ts: int | None = None, max_ts: int | None = None
              ) -> Iterator[tuple[dict[str, Any], int]]:
        """Raw pages and their receive times; ``min_ts``/``max_ts`` are epoch seconds."""
        cfg = self.config
        base = cfg.effective_rest_url + TRADES_PATH
        cursor = ""
        seen: set[str] = set()
        self.pages_fetched = 0
        while True:
            query: dict[str, Any] = {"ticker": ticker, "limit": cfg.rest_page_limit}
            if min_ts is not None:
                query["min_ts"] = int(min_ts)
            if max_ts is not None:
                query["max_ts"] = int(max_ts)
            if cursor:
                query["cursor"] = cursor
            page = self._get(f"{base}?{urlencode(query)}")
            recv_ts = self.clock()
            if not isinstance(page, dict) or not isinstance(page.get("trades"), list):
                raise KalshiRestError(f"kalshi REST: page {self.pages_fetched + 1} of {ticker} "
                                      "has no 'trades' list")
            self.pages_fetched += 1
            yield page, recv_ts
            cursor = page.get("cursor") or ""
            if not isinstance(cursor, str):
                raise KalshiRestError(f"kalshi REST: page {self.pages_fetched} has a non-string "
                                      "cursor")
            if not cursor:
                return
            if cursor in seen:
                raise KalshiRestError(f"kalshi REST: the venue repeated cursor {cursor[:20]!r} "
                                      f"on page {self.pages_fetched}; stopping")
            seen.add(cursor)
            if self.pages_fetched >= cfg.rest_max_pages:
                log.warning("kalshi REST: stopped after %d pages (rest_max_pages)",
                            self.pages_fetched)
                return

    def events(self, ticker: str, min_ts: int | None = None, max_ts: int | None = None, *,
               normalizer: KalshiNormalizer | None = None,
               record_page: Callable[[Any, int], None] | None = None,
               reject: Callable[[str, Any], None] | None = None,
               chronological: bool = True) -> list[MarketEvent]:
        """``trade.tape`` events of ``ticker`` in ``[min_ts, max_ts]`` (epoch seconds).

        ``record_page(page, recv_ts)`` sees every raw page (pass a source
        context's ``record_frame`` to keep them in a recording); ``reject``
        gets ``(reason, trade)`` for a trade that cannot be read. With
        ``chronological`` the events are sorted oldest first (the venue
        sends newest first), ties kept in trade-id order.
        """
        norm = normalizer if normalizer is not None else KalshiNormalizer(self.config)
        out: list[MarketEvent] = []
        for page, recv_ts in self.pages(ticker, min_ts, max_ts):
            if record_page is not None:
                record_page(page, recv_ts)
            for i, trade in enumerate(page["trades"]):
                try:
                    out.extend(norm.normalize({"trades": [trade]}, recv_ts))
                except FrameError as exc:
                    reason = f"page {self.pages_fetched} trade {i}: {exc.reason}" + (
                        f" (field {exc.field.replace('trades[0].', '')!r})" if exc.field else "")
                    log.warning("kalshi REST: rejected %s", reason)
                    if reject is not None:
                        reject(reason, trade)
        if chronological:
            out.sort(key=lambda ev: (ev.ts, (ev.extra or {}).get("trade_id", "")))
        return out


def backfill_trades(config: KalshiConfig | None, ticker: str, min_ts: int | None = None,
                    max_ts: int | None = None, **kwargs: Any) -> list[MarketEvent]:
    """One-call backfill: ``TradeBackfill(config).events(ticker, min_ts, max_ts, **kwargs)``."""
    return TradeBackfill(config).events(ticker, min_ts, max_ts, **kwargs)


__all__ = ["KalshiRestError", "TradeBackfill", "backfill_trades"]
