"""The info endpoint (``POST /info``), for the coin list the live source follows.

Plain :mod:`urllib` (run in a thread by the caller): one small request at
start-up does not justify an HTTP client dependency.
"""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import orjson

from horizon_flow_core.errors import FlowError


class InfoError(FlowError):
    """The info endpoint could not be reached or answered something unexpected."""


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post_info(url: str, body: dict[str, Any], timeout_s: float) -> Any:
    """POST ``body`` as JSON to the info endpoint and decode the JSON answer."""
    request = urllib.request.Request(url, data=orjson.dumps(body), method="POST",
                                     headers={"Content-Type": "application/json"})
    # A proxy from the environment is fine for the venue, never for a local node.
    handlers = [urllib.request.ProxyHandler({})] if _is_loopback(url) else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout_s) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        raise InfoError(f"info endpoint {url}: HTTP {exc.code} for {body.get('type')!r}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InfoError(f"info endpoint {url}: {reason}") from None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise InfoError(f"info endpoint {url}: answer to {body.get('type')!r} is not JSON: "
                        f"{payload[:60]!r}") from None


def perp_coins(meta: Any) -> list[str]:
    """Names of the listed perps in a ``meta`` answer, in the venue's order."""
    universe = meta.get("universe") if isinstance(meta, dict) else None
    if not isinstance(universe, list):
        raise InfoError("info meta: expected an object with a 'universe' list")
    coins: list[str] = []
    for i, asset in enumerate(universe):
        name = asset.get("name") if isinstance(asset, dict) else None
        if not isinstance(name, str) or not name:
            raise InfoError(f"info meta: universe[{i}] has no name")
        if asset.get("isDelisted") is True:
            continue
        coins.append(name)
    return coins


def fetch_perp_coins(url: str, timeout_s: float) -> list[str]:
    return perp_coins(post_info(url, {"type": "meta"}, timeout_s))
