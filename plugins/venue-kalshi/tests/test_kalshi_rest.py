"""REST trade backfill against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from horizon_flow_venue_kalshi import (
    KalshiAuthError,
    KalshiConfig,
    KalshiNormalizer,
    KalshiRestError,
    TradeBackfill,
)
from horizon_flow_venue_kalshi.auth import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    verify_signature,
)

from horizon_flow_core.events import event_from_dict

TICKER = "KXBTCD-26FEB1217-T67749.99"
KEY_ID = "key-1"

PAGE_1 = {"cursor": "CURSOR-2", "trades": [
    {"trade_id": "t-3", "ticker": TICKER, "count_fp": "26.00", "yes_price_dollars": "0.6200",
     "no_price_dollars": "0.3800", "taker_side": "yes", "taker_outcome_side": "yes",
     "taker_book_side": "bid", "created_time": "2026-02-12T12:06:25.300Z"},
    {"trade_id": "t-2", "ticker": TICKER, "count_fp": "90.00", "yes_price_dollars": "0.6100",
     "no_price_dollars": "0.3900", "taker_side": "no", "created_time": "2026-02-12T12:06:25Z"},
]}
PAGE_2 = {"cursor": "", "trades": [
    {"trade_id": "t-bad", "ticker": TICKER, "count_fp": "1.00", "yes_price_dollars": "0.61",
     "taker_side": "sideways", "created_time": "2026-02-12T12:06:24Z"},
    # a 2025-era trade: integer cents and counts
    {"trade_id": "t-1", "ticker": TICKER, "count": 100, "yes_price": 57, "no_price": 43,
     "taker_side": "no", "created_time": "2026-02-12T12:06:24.5Z"},
]}


class Venue:
    """What the fake venue saw and how it should answer."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.public_key: rsa.RSAPublicKey | None = None
        self.fail_first: list[int] = []  # HTTP statuses to answer first, in order
        self.pages = {"": PAGE_1, "CURSOR-2": PAGE_2}
        self.body: bytes | None = None


@pytest.fixture
def venue() -> Iterator[tuple[Venue, str]]:
    state = Venue()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            sig_ok = None
            if state.public_key is not None:
                ts, sig = self.headers.get(HEADER_TIMESTAMP), self.headers.get(HEADER_SIGNATURE)
                sig_ok = (self.headers.get(HEADER_KEY) == KEY_ID and ts is not None
                          and sig is not None
                          and verify_signature(state.public_key, ts, "GET", url.path, sig))
            state.requests.append({"path": url.path, "query": query, "signed": sig_ok})
            if sig_ok is False:
                return self._reply(401, b'{"error":"unauthorized"}')
            if state.fail_first:
                return self._reply(state.fail_first.pop(0), b'{"error":"try later"}')
            if url.path != "/trade-api/v2/markets/trades":
                return self._reply(404, b"{}")
            if state.body is not None:
                return self._reply(200, state.body)
            page = state.pages.get(query.get("cursor", ""))
            if page is None:
                return self._reply(400, b'{"error":"bad cursor"}')
            return self._reply(200, orjson.dumps(page))

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/trade-api/v2"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def config(url: str, **over: Any) -> KalshiConfig:
    return KalshiConfig(rest_url=url, rest_page_limit=2, rest_retries=2, rest_timeout_s=5.0,
                        backoff_initial_s=0.01, **over)


def test_two_pages_with_cursor_into_trade_events(venue: tuple[Venue, str]) -> None:
    state, url = venue
    pages: list[Any] = []
    rejects: list[tuple[str, Any]] = []
    backfill = TradeBackfill(config(url), environ={})
    events = backfill.events(TICKER, 1770897900, 1770898000,
                             record_page=lambda page, ts: pages.append(page),
                             reject=lambda reason, trade: rejects.append((reason, trade)))
    # the paging: same filters on both pages, the cursor only on the second
    assert [r["query"] for r in state.requests] == [
        {"ticker": TICKER, "limit": "2", "min_ts": "1770897900", "max_ts": "1770898000"},
        {"ticker": TICKER, "limit": "2", "min_ts": "1770897900", "max_ts": "1770898000",
         "cursor": "CURSOR-2"}]
    assert [r["signed"] for r in state.requests] == [None, None]  # no key configured
    assert backfill.pages_fetched == 2 and pages == [PAGE_1, PAGE_2]
    # oldest first, legacy and current fields alike, ISO created_time to ns
    assert [(e.kind, e.market_id, e.price, e.size, e.side, e.ts, e.extra["trade_id"])
            for e in events] == [
        ("trade.tape", TICKER, 0.57, 100.0, "sell", 1770897984_500_000_000, "t-1"),
        ("trade.tape", TICKER, 0.61, 90.0, "sell", 1770897985_000_000_000, "t-2"),
        ("trade.tape", TICKER, 0.62, 26.0, "buy", 1770897985_300_000_000, "t-3")]
    for ev in events:
        assert event_from_dict(ev.to_dict()) == ev
    # the unreadable trade is rejected alone, naming page, trade and field
    (reason, trade), = rejects
    assert trade["trade_id"] == "t-bad"
    assert "page 2 trade 0" in reason and "taker_side" in reason
    # the recorded pages scan back to the same events
    norm = KalshiNormalizer()
    rescanned = []
    for page in pages:
        for t in page["trades"]:
            try:
                rescanned.extend(norm.normalize({"trades": [t]}, None))
            except Exception:
                pass
    assert sorted(rescanned, key=lambda e: e.ts) == events


def test_signed_requests_when_a_key_is_in_the_environment(venue: tuple[Venue, str],
                                                          tmp_path: Path) -> None:
    state, url = venue
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "k.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
    state.public_key = key.public_key()
    env = {"KALSHI_API_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": str(pem)}
    events = TradeBackfill(config(url), environ=env).events(TICKER)
    assert len(events) == 3
    assert [r["signed"] for r in state.requests] == [True, True]
    # a key the venue does not know: a clear authentication error, no retries
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem.write_bytes(other.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    state.requests.clear()
    with pytest.raises(KalshiAuthError, match=r"HTTP 401.*KALSHI_API_KEY_ID"):
        TradeBackfill(config(url), environ=env).events(TICKER)
    assert len(state.requests) == 1


def test_retries_on_429_and_5xx_then_gives_a_one_line_error(venue: tuple[Venue, str]) -> None:
    state, url = venue
    sleeps: list[float] = []
    state.fail_first = [429, 503]
    events = TradeBackfill(config(url), environ={}, sleep=sleeps.append).events(TICKER)
    assert len(events) == 3 and sleeps == [0.01, 0.02]
    state.fail_first = [500, 500, 500]
    with pytest.raises(KalshiRestError) as info:
        TradeBackfill(config(url), environ={}, sleep=sleeps.append).events(TICKER)
    assert "after 3 attempt(s)" in str(info.value) and "HTTP 500" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("setup", "words"), [
    ({"fail_first": [400]}, "failed with HTTP 400"),
    ({"body": b"<html>oops</html>"}, "invalid JSON"),
    ({"body": b'{"cursor": ""}'}, "no 'trades' list"),
    ({"pages": {"": {"cursor": "A", "trades": []}, "A": {"cursor": "A", "trades": []}}},
     "repeated cursor"),
])
def test_bad_answers_are_clear_errors(venue: tuple[Venue, str], setup: dict[str, Any],
                                      words: str) -> None:
    state, url = venue
    for name, value in setup.items():
        setattr(state, name, value)
    with pytest.raises(KalshiRestError, match=words):
        TradeBackfill(config(url), environ={}, sleep=lambda s: None).events(TICKER)


def test_unreachable_host_is_retried_then_reported() -> None:
    # a port nobody listens on (bound, then closed)
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    sleeps: list[float] = []
    with pytest.raises(KalshiRestError, match="failed after 3 attempt"):
        TradeBackfill(config(f"http://127.0.0.1:{port}/trade-api/v2"), environ={},
                      sleep=sleeps.append).events(TICKER)
    assert len(sleeps) == 2


def test_cli_backfill_writes_a_feed_log(venue: tuple[Venue, str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from horizon_flow_venue_kalshi.cli import register
    from typer.testing import CliRunner

    monkeypatch.delenv("KALSHI_API_KEY_ID", raising=False)
    monkeypatch.delenv("KALSHI_PRIVATE_KEY_PATH", raising=False)
    state, url = venue
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """flow"""

    register(app)
    out, raw = tmp_path / "feed.jsonl", tmp_path / "raw.jsonl"
    result = CliRunner().invoke(app, ["kalshi", "backfill", TICKER, "--since",
                                      "2026-02-12T12:00:00Z", "--until", "1770898000",
                                      "--rest-url", url, "-o", str(out), "--raw", str(raw)])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [d["extra"]["trade_id"] for d in lines] == ["t-1", "t-2", "t-3"]
    assert all(event_from_dict(d).kind == "trade.tape" for d in lines)
    assert state.requests[0]["query"]["min_ts"] == "1770897600"
    recording = [orjson.loads(line) for line in raw.read_bytes().splitlines()]
    assert [r["frame"] for r in recording] == [PAGE_1, PAGE_2]
    assert all(r["venue"] == "kalshi" and isinstance(r["recv_ts"], int) for r in recording)
    # a bad time is one readable line and a non-zero exit
    result = CliRunner().invoke(app, ["kalshi", "backfill", TICKER, "--since", "soon",
                                      "--rest-url", url])
    assert result.exit_code != 0 and "--since" in result.output
