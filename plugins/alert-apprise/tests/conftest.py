"""Real loopback servers (HTTP, SMTP), a fake clock, a SQLite dead-letter store, findings."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
import pytest
from aiosmtpd.controller import Controller

from horizon_flow_core.findings import AnomalyFinding
from horizon_flow_core.profiles import ActorProfile

NS = 1_000_000_000
# 2024-11-21 15:00:00 UTC, a Thursday
T0 = 1_732_201_200 * NS


class FakeClock:
    def __init__(self, start: int = T0) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * NS)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# ------------------------------------------------------------------ HTTP


class HttpSink:
    """An HTTP server on 127.0.0.1 that records every request (json:// and form://)."""

    def __init__(self, port: int = 0, delay_s: float = 0.0, status: int = 200) -> None:
        self.requests: list[dict[str, Any]] = []
        self.delay_s = delay_s
        self.status = status
        self._cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if sink.delay_s:
                    time.sleep(sink.delay_s)
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    body: Any = orjson.loads(raw)
                elif "x-www-form-urlencoded" in ctype:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                else:
                    body = raw
                # recorded before answering, so a delivered alert is always visible here
                with sink._cond:
                    sink.requests.append({"path": self.path, "ctype": ctype, "body": body})
                    sink._cond.notify_all()
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.requests) >= n, timeout)
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink()
    yield sink
    sink.close()


@pytest.fixture
def make_http_sink() -> Iterator[Any]:
    sinks: list[HttpSink] = []

    def make(**kw: Any) -> HttpSink:
        s = HttpSink(**kw)
        sinks.append(s)
        return s
    yield make
    for s in sinks:
        s.close()


class ReservedPort:
    """A port bound but not listening: connections are refused, and no other test takes it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def release(self) -> int:
        self.sock.close()
        return self.port


@pytest.fixture
def closed_port() -> Iterator[ReservedPort]:
    p = ReservedPort()
    yield p
    p.sock.close()


# ------------------------------------------------------------------ SMTP


class _PortZeroController(Controller):
    """aiosmtpd's controller connects to ``self.port`` to start up: read port 0 back first."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self._cond = threading.Condition()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = message_from_bytes(envelope.content, policy=policy.default)
                with sink._cond:
                    sink.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                          "msg": msg, "raw": envelope.content})
                    sink._cond.notify_all()
                return "250 OK"

        self.controller = _PortZeroController(Handler(), hostname="127.0.0.1", port=0)
        self.controller.start()
        self.port = self.controller.port

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Any]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.messages) >= n, timeout)
            return list(self.messages)

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.close()


# ------------------------------------------------------------------ dead-letter store


class SqliteDeadLetters:
    """A small DeadLetterStore on a real SQLite file (until plugins/store-sqlite lands).

    Like the real store, its connection belongs to the thread that opened it, so a
    write from a delivery worker thread would fail loudly."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY, "
                        "route TEXT, payload TEXT, error TEXT, wall_ns INTEGER, "
                        "resent_wall_ns INTEGER)")
        self.db.commit()

    def add_dead_letter(self, route: str, payload: dict[str, Any], error: str,
                        wall_ns: int) -> int:
        cur = self.db.execute(
            "INSERT INTO dead_letters (route, payload, error, wall_ns) VALUES (?, ?, ?, ?)",
            (route, orjson.dumps(payload).decode(), error, wall_ns))
        self.db.commit()
        return int(cur.lastrowid or 0)

    def dead_letters(self, route: str | None = None, *, include_resent: bool = False
                     ) -> list[dict[str, Any]]:
        q = "SELECT id, route, payload, error, wall_ns, resent_wall_ns FROM dead_letters"
        rows = self.db.execute(q + " ORDER BY id").fetchall()
        out = []
        for i, r, p, e, w, resent in rows:
            if route is not None and r != route:
                continue
            if resent is not None and not include_resent:
                continue
            out.append({"id": i, "route": r, "payload": orjson.loads(p), "error": e,
                        "wall_ns": w, "resent_wall_ns": resent})
        return out

    def mark_dead_letter_resent(self, dead_letter_id: int, wall_ns: int) -> None:
        self.db.execute("UPDATE dead_letters SET resent_wall_ns = ? WHERE id = ?",
                        (wall_ns, dead_letter_id))
        self.db.commit()

    def close(self) -> None:
        self.db.close()


@pytest.fixture
def dl_store(tmp_path: Path) -> Iterator[Any]:
    """The real SQLite flow store when horizon-flow-store-sqlite is installed, else the
    small stand-in above; both keep dead letters in a real SQLite file."""
    try:
        from horizon_flow_store_sqlite.flow_store import SQLiteFlowStore
    except ImportError:
        s: Any = SqliteDeadLetters(tmp_path / "flow.db")
    else:
        s = SQLiteFlowStore(tmp_path / "flow.db")
    yield s
    s.close()


# ------------------------------------------------------------------ findings


def finding(*, category: str = "spoofing", severity: str = "high", confidence: float = 0.9,
            venue: str = "polymarket", market: str = "0xmarket", actor: str | None = "0xactor",
            ts: int = T0, evidence: dict[str, Any] | None = None, seq: int = 1,
            message: str = "bait order 5000 cancelled 120 ms after the opposite fill",
            citation: str = "CFTC v. Sarao (2015); Dodd-Frank 747") -> AnomalyFinding:
    return AnomalyFinding.make(
        detector=category, category=category, severity=severity, confidence=confidence,
        venue=venue, market_id=market, actor_id=actor, ts=ts, message=message,
        citation=citation,
        evidence=evidence if evidence is not None else {"bait_size": 5000.0,
                                                        "cancel_ms": 120.0,
                                                        "imbalance": 0.4321},
    ).with_identity(seq=seq)


def profile(actor: str = "0xactor") -> ActorProfile:
    return ActorProfile(venue="polymarket", actor_id=actor, event_count=120,
                        features={"cancel_ratio": 0.95},
                        taxonomy={"high_frequency": 0.71, "market_maker": 0.09,
                                  "fundamental_buyer": 0.05, "fundamental_seller": 0.05,
                                  "opportunistic": 0.05, "small": 0.05},
                        last_updated_seq=10, ts=T0)


@pytest.fixture
def make_finding() -> Any:
    return finding


@pytest.fixture
def make_profile() -> Any:
    return profile
