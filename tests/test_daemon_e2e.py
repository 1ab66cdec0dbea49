"""Done-when test of ``flow run``: a real daemon process against real loopback venues.

``flow run`` is started as a subprocess with a config pointing each venue at a
WebSocket server on 127.0.0.1 that speaks the venue's protocol and replays
recorded frames:

* Hyperliquid: the plugin's protocol server (``fake_venue``) plays the recorded
  S3-archive ``l2Book`` frames (shared fixtures, re-timed to now) and ``trades``
  frames in the documented shape in which two wallets trade with themselves
  (wash trades the built-in detector catches), then a steady tail of books;
* Kalshi: a server that checks the RSA-PSS handshake signature of a key pair
  generated here, acks subscriptions and plays the recorded public ``trade``
  frames (MIT, from the Kalshi plugin's test data), then ``ticker`` frames in
  the documented shape every 250 ms;
* Polymarket: the recorded market-channel burst (shared fixtures, LGPL) and a
  ``last_trade_price``, answering ``PING`` with ``PONG``.

Alerts go to an apprise ``json://`` route whose URL is in an environment
variable and points at an HTTP server on 127.0.0.1.

Checked: findings reach the store, the audit log and the sink; the metrics
endpoint's counters match the store; a dead venue fails ``flow health`` and
its staleness metric rises while the other venues carry on; SIGTERM exits 0
with a store ``flow verify`` passes and feed logs ``flow replay`` turns into
the same findings; after SIGKILL a restart audits ``run.resumed``, loses no
committed finding and duplicates none.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Coroutine
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

fake_venue = pytest.importorskip("horizon_flow_venue_hyperliquid.fake_venue")
kalshi_auth = pytest.importorskip("horizon_flow_venue_kalshi.auth")
sqlite_plugin = pytest.importorskip("horizon_flow_store_sqlite.plugin")
pytest.importorskip("horizon_flow_alert_apprise")
pytest.importorskip("horizon_flow_detectors_builtin")
pytest.importorskip("horizon_flow_venue_polymarket")

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from websockets.asyncio.server import Server, ServerConnection, serve  # noqa: E402

from horizon_flow_core.cli.app import main  # noqa: E402
from horizon_flow_core.components import FindingQuery  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
KALSHI_TRADES = REPO / "plugins/venue-kalshi/tests/data/ssmd_ws_trade_2026-02-12.jsonl"
HL_ARCHIVE = SHARED / "hyperliquid/s3_archive_l2Book_BTC_20240101_h12_first40.jsonl"
PM_BURST = SHARED / "polymarket/nautilus_ws_market_price_change_crossing_burst_first16.jsonl"
PM_A = "76670567130917723816490572615540605537878462672464291990940067659127658071111"
PM_B = "54179564009642723353355316176091991063553046330768303687769988635499280029688"
KALSHI_KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
KALSHI_TICKERS = ["KXBTCD-26FEB1217-T67749.99", "KXBTCMINMON-BTC-26FEB28-5750000",
                  "KXSOLD-26FEB1217-T79.9999"]
WASH_1 = "0x1a5h000000000000000000000000000000000001".replace("h", "0")
WASH_2 = "0x2a5h000000000000000000000000000000000002".replace("h", "0")
WASH_3 = "0x3a5h000000000000000000000000000000000003".replace("h", "0")
FINDING_RECORDS = ("flow.anomaly", "flow.bot_detected")
NS = 1_000_000_000


# --------------------------------------------------------------------------- frames


def hl_trade(tid: int, t_ms: int, users: list[str], px: float = 42700.0) -> dict[str, Any]:
    return {"channel": "trades", "data": [
        {"coin": "BTC", "side": "B" if tid % 2 else "A", "px": f"{px + tid % 7:.1f}",
         "sz": "0.25", "hash": f"0x{tid:064x}", "time": t_ms, "tid": tid, "users": users}]}


def hl_book(t_ms: int, i: int) -> dict[str, Any]:
    bids = [{"px": "42700.0", "sz": f"{1 + i % 5}.5", "n": 2},
            {"px": "42699.0", "sz": "3.0", "n": 1}]
    asks = [{"px": "42701.0", "sz": f"{2 + i % 3}.0", "n": 1},
            {"px": "42702.0", "sz": "4.0", "n": 3}]
    return {"channel": "l2Book", "data": {"coin": "BTC", "time": t_ms, "levels": [bids, asks]}}


def hl_script(t0_ms: int, wash: list[tuple[int, str]], tail_s: float) -> list[tuple[str, Any]]:
    """Recorded books (re-timed), 12 trades with wash trades at the given positions, books."""
    steps: list[tuple[str, Any]] = []
    if HL_ARCHIVE.exists():
        for i, line in enumerate(HL_ARCHIVE.read_text().splitlines()[:20]):
            frame = json.loads(line)["raw"]
            frame["data"]["time"] = t0_ms - 2000 + i * 50
            steps.append(("send", frame))
    washers = dict(wash)
    for k in range(40):
        tid = 1000 + k
        users = ([washers[k], washers[k]] if k in washers
                 else [f"0x{(0xb000 + k):040x}", f"0x{(0x5000 + k):040x}"])
        steps.append(("send", hl_trade(tid, t0_ms + k * 20, users)))
    n = int(tail_s / 0.2)
    for i in range(n):
        steps.append(("send", hl_book(t0_ms + 1000 + i * 200, i)))
        steps.append(("sleep", 0.2))
    return steps


def kalshi_frames() -> list[dict[str, Any]]:
    return [json.loads(x) for x in KALSHI_TRADES.read_text().splitlines() if x.strip()]


def kalshi_ticker(i: int, base_ms: int) -> dict[str, Any]:
    return {"type": "ticker", "sid": 7, "msg": {
        "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1", "market_ticker": KALSHI_TICKERS[0],
        "price_dollars": "0.5700", "yes_bid_dollars": "0.5600", "yes_ask_dollars": "0.5800",
        "yes_bid_size_fp": f"{100 + i}.00", "yes_ask_size_fp": "150.00",
        "volume_fp": "33896.00", "open_interest_fp": "20422.00", "ts": (base_ms + i * 250) // 1000,
        "ts_ms": base_ms + i * 250}}


def pm_frames() -> list[Any]:
    frames: list[Any] = [json.loads(x) for x in PM_BURST.read_text().splitlines() if x.strip()]
    frames.append({"event_type": "last_trade_price", "asset_id": PM_A,
                   "market": frames[0]["market"], "price": "0.36", "side": "SELL", "size": "20",
                   "fee_rate_bps": "0", "timestamp": "1790658699000",
                   "transaction_hash": "0x" + "ab" * 32})
    return frames


# --------------------------------------------------------------------------- servers


class ServerLoop:
    """An asyncio loop on a thread for the venue servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Venues:
    """One set of three venue servers (a fresh set per daemon phase)."""

    def __init__(self, loop: ServerLoop, public_key: Any, hl: list[tuple[str, Any]],
                 with_pm: bool) -> None:
        self.loop = loop
        self.public_key = public_key
        self.kalshi_handshakes: list[bool] = []
        self.hl = fake_venue.FakeVenue({"market": [hl] * 10}, idle_limit_s=30.0,
                                       expected={"market": 2, "wallet": 2})
        self.servers: dict[str, Server] = {}
        self.ports: dict[str, int] = {}
        self.with_pm = with_pm
        loop.call(self._start())

    async def _start(self) -> None:
        self.servers["hyperliquid"] = await fake_venue.serving(self.hl)
        self.ports["hyperliquid"] = self.hl.port
        self.servers["kalshi"] = await serve(self._kalshi, "127.0.0.1", 0,
                                             process_request=self._kalshi_auth)
        self.ports["kalshi"] = self.servers["kalshi"].sockets[0].getsockname()[1]
        if self.with_pm:
            self.servers["polymarket"] = await serve(self._pm, "127.0.0.1", 0)
            self.ports["polymarket"] = self.servers["polymarket"].sockets[0].getsockname()[1]

    def _kalshi_auth(self, connection: ServerConnection, request: Any) -> Any:
        h = request.headers
        ts, sig = h.get(kalshi_auth.HEADER_TIMESTAMP), h.get(kalshi_auth.HEADER_SIGNATURE)
        ok = (h.get(kalshi_auth.HEADER_KEY) == KALSHI_KEY_ID and ts is not None
              and sig is not None and kalshi_auth.verify_signature(
                  self.public_key, ts, "GET", urlsplit(request.path).path, sig))
        self.kalshi_handshakes.append(ok)
        return None if ok else connection.respond(401, "invalid signature\n")

    async def _kalshi(self, ws: ServerConnection) -> None:
        subscribed: set[str] = set()

        async def commands() -> None:
            async for message in ws:
                cmd = json.loads(message)
                if cmd.get("cmd") == "subscribe":
                    channel = cmd["params"]["channels"][0]
                    subscribed.add(channel)
                    await ws.send(json.dumps({"type": "subscribed", "id": cmd["id"], "msg": {
                        "channel": channel, "sid": 2 if channel == "trade" else 7}}))

        reader = asyncio.create_task(commands())
        try:
            while len(subscribed) < 2:
                await asyncio.sleep(0.01)
            frames = kalshi_frames()
            for frame in frames:
                await ws.send(json.dumps(frame))
            base_ms = frames[-1]["msg"]["ts"] * 1000
            i = 0
            while True:
                await ws.send(json.dumps(kalshi_ticker(i, base_ms)))
                i += 1
                await asyncio.sleep(0.25)
        except Exception:
            pass
        finally:
            reader.cancel()

    async def _pm(self, ws: ServerConnection) -> None:
        with contextlib.suppress(Exception):
            await ws.recv()  # the subscription
            for frame in pm_frames():
                await ws.send(json.dumps(frame))
            async for message in ws:
                if message == "PING":
                    await ws.send("PONG")

    def kill(self, venue: str) -> None:
        async def stop() -> None:
            server = self.servers.pop(venue)
            server.close()
            await server.wait_closed()
        self.loop.call(stop())

    def close(self) -> None:
        for venue in list(self.servers):
            self.kill(venue)


class AlertSink:
    """HTTP server on 127.0.0.1 receiving apprise json:// notifications."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.bodies.append(json.loads(raw))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def finding_ids(self) -> set[str]:
        ids = set()
        for b in self.bodies:
            ids.update(re.findall(r"Finding id: ([0-9a-f]{32})", b.get("message", "")))
        return ids

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- the daemon


def write_config(d: Path, ports: dict[str, int]) -> None:
    pm = ""
    if "polymarket" in ports:
        pm = f"""
[venues.polymarket]
ws_url = "ws://127.0.0.1:{ports['polymarket']}"
token_ids = ["{PM_A}", "{PM_B}"]
activity_feed = false
chain_follow = false
ping_interval_s = 0.3
stale_after_s = 30.0
reconnect_initial_s = 0.1
reconnect_max_s = 0.3
"""
    (d / "flow.toml").write_text(f"""
[alerts]
severity_floor = "low"

[alerts.routes.desk]
url_env = "FLOW_E2E_ALERT_URL"
dedupe_window_s = 0
rate_limit = 0
escalate_after = 0
retries = 1
backoff_s = 0.1

[venues.hyperliquid]
ws_url = "ws://127.0.0.1:{ports['hyperliquid']}"
info_url = "http://127.0.0.1:9/info"
coins = ["BTC"]
channels = ["trades", "l2Book"]
ping_interval_s = 0.3
pong_timeout_s = 2.0
reconnect_min_s = 0.1
reconnect_max_s = 0.3
jitter_seed = 7

[venues.kalshi]
ws_url = "ws://127.0.0.1:{ports['kalshi']}/trade-api/ws/v2"
rest_url = "http://127.0.0.1:9/trade-api/v2"
tickers = {json.dumps(KALSHI_TICKERS)}
channels = ["trade", "ticker"]
stale_after_s = 30.0
backoff_initial_s = 0.1
backoff_max_s = 0.3
{pm}
[stores]
flow = "data/flow.db"
audit = "data/audit.db"

[daemon]
status_interval_s = 0.25
feed_stale_after_s = 2.0
flush_interval_s = 0.2
chain_verify_interval_s = 0.5
alert_drain_timeout_s = 5.0

[metrics]
port = 0
textfile = "data/flow.prom"
textfile_interval_s = 0.5

[logging]
file = "logs/flow.log"
""")


def flow_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "horizon_flow_core.cli.app", *args]


def start_daemon(d: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    (d / "logs").mkdir(exist_ok=True)
    out = (d / "logs" / "daemon.out").open("ab")
    return subprocess.Popen(flow_cmd("run", "--config", "flow.toml"), cwd=d, env=env,
                            stdout=out, stderr=subprocess.STDOUT)


def wait_for(pred: Callable[[], Any], timeout_s: float, what: str,
             proc: subprocess.Popen[bytes] | None = None, d: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    log = ""
    if d is not None:
        for name in ("logs/daemon.out", "logs/flow.log"):
            p = d / name
            if p.exists():
                log += f"\n--- {name} (tail)\n" + "\n".join(p.read_text().splitlines()[-25:])
    raise AssertionError(f"timed out waiting for {what}{log}")


def status(d: Path) -> dict[str, Any]:
    try:
        return json.loads((d / "data/flow.status.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    return parse_prom(text)


def parse_prom(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def total(samples: dict[str, float], name: str) -> float:
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


def store_findings(d: Path) -> dict[str, Any]:
    store = sqlite_plugin.open_flow_store(str(d / "data/flow.db"))
    try:
        return {f.id: f for f in store.findings(FindingQuery())}
    finally:
        store.close()


def audit_records(d: Path) -> list[Any]:
    sink = sqlite_plugin.open_audit_sink(str(d / "data/audit.db"))
    try:
        return list(sink.records())
    finally:
        sink.close()


def replay_ids(d: Path, venue: str, name: str) -> set[str]:
    """``flow replay --venue`` of the venue's feed logs (days in order) into a fresh store."""
    files = sorted((d / "data/feeds" / venue).glob("*.jsonl"))
    assert files, f"no feed log for {venue}"
    feed = d / f"{name}.jsonl"
    feed.write_bytes(b"".join(f.read_bytes() for f in files))
    store = d / f"{name}.db"
    code = main(["replay", "--feed-log", str(feed), "--venue", venue, "--config",
                 str(d / "flow.toml"), "--store", str(store), "--json"])
    assert code == 0
    s = sqlite_plugin.open_flow_store(str(store))
    try:
        return {f.id for f in s.findings(FindingQuery())}
    finally:
        s.close()


def health(d: Path, env: dict[str, str]) -> tuple[int, dict[str, str]]:
    proc = subprocess.run(flow_cmd("health", "--config", "flow.toml"), cwd=d, env=env,
                          capture_output=True, text=True, timeout=30)
    lines = {}
    for line in proc.stdout.splitlines():
        state, rest = line.split(None, 1)
        name, _, detail = rest.partition(": ")
        lines[name] = f"{state} {detail}"
    return proc.returncode, lines


# --------------------------------------------------------------------------- the test


@pytest.fixture
def kalshi_key(tmp_path: Path) -> Any:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "kalshi.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    pem.chmod(0o600)
    return key.public_key(), pem


def test_flow_run_end_to_end(tmp_path: Path, kalshi_key: Any) -> None:
    public_key, pem = kalshi_key
    with_pm = PM_BURST.exists()
    d = tmp_path / "deploy"
    d.mkdir()
    sink = AlertSink()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(KALSHI_API_KEY_ID=KALSHI_KEY_ID, KALSHI_PRIVATE_KEY_PATH=str(pem),
               FLOW_E2E_ALERT_URL=f"json://127.0.0.1:{sink.port}/alerts/"
                                  f"{base64.b32encode(os.urandom(10)).decode()}",
               PYTHONUNBUFFERED="1")
    loop = ServerLoop()
    t0_ms = time.time_ns() // 1_000_000
    venues_a = Venues(loop, public_key, hl_script(t0_ms, [(5, WASH_1), (17, WASH_2)], 40.0),
                      with_pm)
    all_venues = [venues_a]
    names = ["hyperliquid", "kalshi"] + (["polymarket"] if with_pm else [])
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # ------------------------------------------------ phase A: run, scrape, kill a venue
        write_config(d, venues_a.ports)
        proc = start_daemon(d, env)
        procs.append(proc)
        st = wait_for(lambda: (s := status(d)).get("state") == "running"
                      and all(s["venues"][v]["events_ingested"] > 0 for v in names)
                      and s["findings"] >= 2 and s, 30, "all venues flowing, 2 findings",
                      proc, d)
        url = st["metrics"]["url"]
        assert url.startswith("http://127.0.0.1:")
        assert all(venues_a.kalshi_handshakes)  # every handshake was signed correctly
        wait_for(lambda: len(store_findings(d)) == total(scrape(url), "flow_findings_total"),
                 10, "metrics flow_findings_total == findings in the store", proc, d)
        first = scrape(url)
        stored = store_findings(d)
        washers = {f.actor_id for f in stored.values() if f.category == "wash_trade"}
        assert {WASH_1, WASH_2} <= washers
        for v in names:
            assert first[f'flow_events_ingested_total{{venue="{v}"}}'] > 0
        assert wait_for(lambda: scrape(url).get("flow_audit_chain_verify_ok"), 5,
                        "the audit chain verified", proc, d) == 1
        assert 'flow_store_write_latency_seconds_count' in first
        code, checks = health(d, env)
        assert code == 0, checks
        assert all(checks[f"feed {v}"].startswith("OK") for v in names)

        venues_a.kill("kalshi")
        wait_for(lambda: (status(d)["venues"]["kalshi"].get("last_frame_wall_ns") or 0)
                 < time.time_ns() - 2.5 * NS, 10, "kalshi quiet for 2.5 s", proc, d)
        code, checks = health(d, env)
        assert code == 1 and checks["feed kalshi"].startswith("FAIL"), checks
        assert checks["feed hyperliquid"].startswith("OK"), checks
        later = scrape(url)
        assert later['flow_feed_last_event_age_seconds{venue="kalshi"}'] > 2.0
        assert later['flow_feed_last_event_age_seconds{venue="hyperliquid"}'] < 1.5
        hl_key = 'flow_events_ingested_total{venue="hyperliquid"}'
        assert later[hl_key] > first[hl_key]  # hyperliquid carries on
        assert later['flow_reconnects_total{venue="kalshi"}'] >= 1

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        stored = store_findings(d)
        prom = parse_prom((d / "data/flow.prom").read_text())  # written after the last flush
        assert total(prom, "flow_findings_total") == len(stored)
        records = audit_records(d)
        audited = {r.payload["finding"]["id"] for r in records if r.category in FINDING_RECORDS}
        assert audited == set(stored)
        assert sink.finding_ids() == set(stored)  # every finding alerted, once drained
        assert total(prom, "flow_alerts_sent_total") == len(sink.bodies)
        assert records[-1].category == "run.finished"
        for v, n in records[-1].payload["by_venue"].items():
            assert prom[f'flow_events_ingested_total{{venue="{v}"}}'] == n > 0
        assert main(["verify", "--db", str(d / "data/flow.db")]) == 0
        assert main(["audit", "verify", "--db", str(d / "data/audit.db")]) == 0
        for v in names:
            live = {i for i, f in stored.items() if f.venue == v}
            assert replay_ids(d, v, f"replay-a-{v}") == live, v
        phase_a = set(stored)

        # ------------------------------------------------ phase B: new findings, then SIGKILL
        venues_a.close()
        t1_ms = time.time_ns() // 1_000_000
        venues_b = Venues(loop, public_key, hl_script(t1_ms, [(9, WASH_3)], 30.0), with_pm)
        all_venues.append(venues_b)
        write_config(d, venues_b.ports)
        proc = start_daemon(d, env)
        procs.append(proc)
        committed = wait_for(
            lambda: (ids := {i for i, f in store_findings(d).items() if f.actor_id == WASH_3})
            and ids <= {r.payload["finding"]["id"] for r in audit_records(d)
                        if r.category in FINDING_RECORDS} and ids,
            30, "the new wash trade stored and audited", proc, d)
        run_b = next(r.payload["run_id"] for r in reversed(audit_records(d))
                     if r.category == "run.started")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        at_kill = store_findings(d)
        assert phase_a | committed <= set(at_kill)

        # ------------------------------------------------ phase C: restart after the crash
        proc = start_daemon(d, env)
        procs.append(proc)
        wait_for(lambda: (s := status(d)).get("state") == "running"
                 and s.get("run_id") != run_b
                 and s["venues"]["hyperliquid"]["events_ingested"] >= 100, 30,
                 "the restarted daemon re-read the venues", proc, d)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        final = store_findings(d)
        assert set(at_kill) <= set(final)  # no committed finding lost
        records = audit_records(d)
        resumed = [r.payload for r in records if r.category == "run.resumed"]
        assert len(resumed) == 1 and resumed[0]["previous_run_id"] == run_b
        assert resumed[0]["restart_ts"] > resumed[0]["previous_last_ts"]
        per_id: dict[str, int] = {}
        for r in records:
            if r.category in FINDING_RECORDS:
                fid = r.payload["finding"]["id"]
                per_id[fid] = per_id.get(fid, 0) + 1
        assert set(per_id) == set(final)
        assert all(n == 1 for n in per_id.values()), per_id  # re-sent frames: no re-audit
        contents = {(f.detector, f.venue, f.market_id, f.actor_id, f.ts) for f in final.values()}
        assert len(contents) == len(final)
        assert main(["verify", "--db", str(d / "data/flow.db")]) == 0
        assert main(["audit", "verify", "--db", str(d / "data/audit.db")]) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        for v in all_venues:
            v.close()
        loop.close()
        sink.close()
