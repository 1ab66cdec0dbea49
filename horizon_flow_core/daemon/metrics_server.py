"""Serving the metrics registry: ``GET /metrics`` on a loopback port, and a textfile.

The endpoint binds ``127.0.0.1`` by default (there is no authentication;
:class:`~horizon_flow_core.daemon.config.MetricsConfig` refuses other
addresses unless ``allow_remote``). Port 0 takes any free port; the bound
port is in :attr:`MetricsServer.url` and in the status file.

The textfile is for node_exporter's textfile collector: the same text,
written atomically (never a half file) every ``textfile_interval_s`` and at
shutdown.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .files import write_atomic

log = logging.getLogger("horizon_flow.daemon.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MetricsServer:
    def __init__(self, registry: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = registry
        registry_ = registry

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path not in ("/metrics", "/"):
                    self.send_error(404, "only /metrics is served here")
                    return
                try:
                    body = registry_.render().encode()
                except Exception as exc:
                    log.error("rendering metrics failed: %s", exc)
                    self.send_error(500, "rendering metrics failed")
                    return
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("metrics request: " + format, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.5},
                                        name="flow-metrics-http", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> None:
        self._thread.start()
        log.info("metrics served on %s port %d at /metrics", self.host, self.port)

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever: only if it runs
            self._server.shutdown()
            self._thread.join(5.0)
        self._server.server_close()


class TextfileWriter:
    def __init__(self, registry: Any, path: str | Path) -> None:
        self.registry = registry
        self.path = Path(path)
        self.writes = 0
        self.errors = 0

    def write(self) -> bool:
        try:
            write_atomic(self.path, self.registry.render().encode())
        except OSError as exc:
            self.errors += 1
            if self.errors <= 3 or self.errors % 100 == 0:
                log.error("cannot write the metrics textfile %s: %s", self.path, exc)
            return False
        self.writes += 1
        return True
