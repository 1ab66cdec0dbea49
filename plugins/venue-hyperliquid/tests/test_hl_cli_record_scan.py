"""``flow record --venue hyperliquid`` then ``flow scan --venue hyperliquid``, end to end.

The real CLI (in-process), the plugin found through its entry point, its
config read from a TOML file, and a WebSocket server on 127.0.0.1 (in a
thread) speaking Hyperliquid's protocol. The scan of the recording must give
the events and rejects the live run counted, and scanning twice must give
byte-identical findings digests.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from horizon_flow_venue_hyperliquid.fake_venue import FakeVenue
from websockets.asyncio.server import serve

from horizon_flow_core.cli.app import main

T0 = 1_700_000_000_000
BUYER = "0x1111000000000000000000000000000000000001"
SELLER = "0x2222000000000000000000000000000000000002"


def trades_frame(*tids: int) -> dict[str, Any]:
    """The documented WS trades shape (no recorded sample with ``users`` exists)."""
    return {"channel": "trades", "data": [
        {"coin": "BTC", "side": "B", "px": f"{100 + tid}.5", "sz": "0.5",
         "hash": f"0x{tid:064x}", "time": T0 + tid, "tid": tid, "users": [BUYER, SELLER]}
        for tid in tids]}


def book_frame(t: int) -> dict[str, Any]:
    return {"channel": "l2Book", "data": {"coin": "BTC", "time": t, "levels": [
        [{"px": "100.0", "sz": "1.5", "n": 2}], [{"px": "101.0", "sz": "2.0", "n": 1}]]}}


def bbo_frame(t: int) -> dict[str, Any]:
    return {"channel": "bbo", "data": {"coin": "BTC", "time": t, "bbo": [
        {"px": "100.0", "sz": "1.5", "n": 2}, {"px": "101.0", "sz": "2.0", "n": 1}]}}


@pytest.fixture
def venue() -> Iterator[FakeVenue]:
    fake = FakeVenue({"market": [
        [("send", book_frame(T0 + 1)), ("send", trades_frame(1, 2)), ("send", "not json"),
         ("send", trades_frame(2, 3)), ("send", bbo_frame(T0 + 2)), ("drop", None)],
        [("send", book_frame(T0 + 1)), ("send", trades_frame(4)), ("send", book_frame(T0 + 3))],
    ]}, idle_limit_s=30.0)
    ready = threading.Event()
    stop: dict[str, Any] = {}

    def serve_forever() -> None:
        async def body() -> None:
            server = await serve(fake.handler, "127.0.0.1", 0)
            fake.port = server.sockets[0].getsockname()[1]
            stop["event"] = asyncio.Event()
            stop["loop"] = asyncio.get_running_loop()
            ready.set()
            await stop["event"].wait()
            server.close()
            await server.wait_closed()
        asyncio.run(body())

    thread = threading.Thread(target=serve_forever, daemon=True)
    thread.start()
    assert ready.wait(5)
    yield fake
    stop["loop"].call_soon_threadsafe(stop["event"].set)
    thread.join(5)


def test_record_then_scan_gives_the_live_events(venue: FakeVenue, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "flow.toml"
    config.write_text(f"""
[venues.hyperliquid]
ws_url = "ws://127.0.0.1:{venue.port}/ws"
coins = ["BTC"]
ping_interval_s = 5
reconnect_min_s = 0.05
reconnect_max_s = 0.1
jitter_seed = 3
""")
    recording = tmp_path / "hl.jsonl"
    # 3 acks + 5 frames on the first connection, 3 acks + 3 frames after the reconnect
    assert main(["record", "--venue", "hyperliquid", "-c", str(config), "--out", str(recording),
                 "--max-frames", "14", "--duration", "10"]) == 0
    said = capsys.readouterr().err + capsys.readouterr().out
    m = re.search(r"recorded (\d+) frames \((\d+) events, (\d+) rejects\)", said)
    assert m, said
    frames, events, rejects = map(int, m.groups())
    assert frames == 14 and rejects == 1
    # 4 trades x 3 events, 2 books, 1 quote, 1 gap; the resent book and trades not again
    assert events == 12 + 2 + 1 + 1
    lines = [json.loads(x) for x in recording.read_text().splitlines()]
    assert sum("frame" in x for x in lines) == 14 and sum("event" in x for x in lines) == 1

    digests = []
    for _ in range(2):
        assert main(["scan", "-f", str(recording), "--venue", "hyperliquid", "-c", str(config),
                     "--db", "memory://", "--audit-db", "memory://", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["events"] == events and summary["rejects"] == rejects
        assert summary["reject_examples"][0].endswith("not JSON (invalid literal, expected "
                                                      "'null'): 'not json'")
        digests.append(summary["findings_digest"])
    assert digests[0] == digests[1]
