"""A local WebSocket server that speaks Hyperliquid's protocol, for tests and demos.

It acks ``{"method":"subscribe"}`` with ``subscriptionResponse``, answers
``{"method":"ping"}`` with ``{"channel":"pong"}``, closes connections whose
client stays silent longer than ``idle_limit_s`` (the venue's 60 s rule,
shortened), and replays a script per connection once its subscriptions are
in. Scripts are lists of steps: ``("send", frame or text)``,
``("sleep", seconds)`` and ``("drop", None)`` (the TCP connection dies with
no close frame). Connections are told apart as ``market`` or ``wallet``
(their subscriptions name a ``user``); the n-th connection of a kind plays
``scripts[kind][n]``, which starts once ``expected[kind]`` subscriptions are
in (3 per market connection and 2 per wallet lane with the default channels).
``mute_pongs`` holds ``(kind, n)`` of connections that stop answering pings.
It binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from horizon_flow_core.aio import recv_within

Step = tuple[str, Any]


class FakeVenue:
    """Serve with :func:`serving`; inspect ``subscriptions``, ``pings`` and ``idle_closes``."""

    def __init__(self, scripts: dict[str, list[list[Step]]], idle_limit_s: float = 0.5,
                 expected: dict[str, int] | None = None) -> None:
        self.scripts = scripts
        self.idle_limit_s = idle_limit_s
        self.expected = expected or {"market": 3, "wallet": 2}
        self.subscriptions: dict[str, list[list[dict[str, Any]]]] = {"market": [], "wallet": []}
        self.pings = 0
        self.mute_pongs: set[tuple[str, int]] = set()
        self.idle_closes = 0
        self.port = 0

    async def handler(self, ws: ServerConnection) -> None:
        subs: list[dict[str, Any]] = []
        kind: str | None = None
        index = -1
        replay: asyncio.Task[None] | None = None
        try:
            while True:
                try:
                    message = await recv_within(ws, self.idle_limit_s)
                except TimeoutError:
                    self.idle_closes += 1  # the venue drops connections whose client is silent
                    await ws.close(1000, "idle")
                    return
                request = json.loads(message)
                if request.get("method") == "ping":
                    self.pings += 1
                    if (kind, index) not in self.mute_pongs:
                        await ws.send('{"channel":"pong"}')
                    continue
                if request.get("method") != "subscribe":
                    continue
                sub = request["subscription"]
                if kind is None:
                    kind = "wallet" if "user" in sub else "market"
                    self.subscriptions[kind].append(subs)
                    index = len(self.subscriptions[kind]) - 1
                subs.append(sub)
                await ws.send(json.dumps({"channel": "subscriptionResponse", "data": request}))
                if len(subs) == self.expected[kind]:
                    steps = self.scripts.get(kind, [])
                    script = steps[index] if index < len(steps) else []
                    replay = asyncio.create_task(self._replay(ws, script))
        except ConnectionClosed:
            pass
        finally:
            if replay is not None:
                replay.cancel()

    @staticmethod
    async def _replay(ws: ServerConnection, script: list[Step]) -> None:
        with contextlib.suppress(ConnectionClosed):
            for op, arg in script:
                if op == "send":
                    await ws.send(arg if isinstance(arg, str) else json.dumps(arg))
                elif op == "sleep":
                    await asyncio.sleep(arg)
                elif op == "drop":  # the connection dies mid-stream: no close frame
                    ws.transport.abort()
                    return


async def serving(venue: FakeVenue) -> Server:
    """Start ``venue`` on 127.0.0.1 at a free port (``venue.port``); close the server after use."""
    server = await serve(venue.handler, "127.0.0.1", 0)
    venue.port = server.sockets[0].getsockname()[1]
    return server
