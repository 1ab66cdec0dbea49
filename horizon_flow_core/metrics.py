"""A small metrics registry with Prometheus text exposition.

Counters, gauges and histograms with labels, cheap enough to update on the
hot path (a dict lookup and an add). The daemon serves
:meth:`Registry.render` on an optional loopback port and writes it as a
textfile for node_exporter.

Counts that components already keep (an engine's ingest count, a router's
delivery counters) are not incremented here a second time on the hot path:
a *collector* (:meth:`Registry.add_collector`) copies them into the registry
when it is rendered.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable

log = logging.getLogger("horizon_flow.metrics")

LabelKey = tuple[tuple[str, str], ...]


def _key(labels: dict[str, object]) -> LabelKey:
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


def _fmt_labels(key: LabelKey, extra: Iterable[tuple[str, str]] = ()) -> str:
    items = list(key) + list(extra)
    if not items:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in items)
    return "{" + body + "}"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


class Counter:
    kind = "counter"

    def __init__(self, name: str, help: str) -> None:
        self.name, self.help = name, help
        self.values: dict[LabelKey, float] = {}

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        k = _key(labels)
        self.values[k] = self.values.get(k, 0.0) + amount

    def get(self, **labels: object) -> float:
        return self.values.get(_key(labels), 0.0)

    def set_total(self, value: float, **labels: object) -> None:
        """Set the running total kept elsewhere (for collectors; never goes down in practice)."""
        self.values[_key(labels)] = float(value)

    def samples(self) -> list[str]:
        return [f"{self.name}{_fmt_labels(k)} {_num(v)}" for k, v in sorted(self.values.items())]


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels: object) -> None:
        self.values[_key(labels)] = float(value)


class Histogram:
    kind = "histogram"
    DEFAULT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                       0.25, 0.5, 1.0, 2.5, 5.0)

    def __init__(self, name: str, help: str, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.name, self.help = name, help
        self.buckets = tuple(sorted(buckets))
        self.series: dict[LabelKey, list[float]] = {}  # bucket counts..., sum, count

    def observe(self, value: float, **labels: object) -> None:
        k = _key(labels)
        s = self.series.get(k)
        if s is None:
            s = self.series[k] = [0.0] * (len(self.buckets) + 2)
        for i, b in enumerate(self.buckets):
            if value <= b:
                s[i] += 1
        s[-2] += value
        s[-1] += 1

    def count(self, **labels: object) -> float:
        s = self.series.get(_key(labels))
        return s[-1] if s else 0.0

    def samples(self) -> list[str]:
        out = []
        for k, s in sorted(self.series.items()):
            for i, b in enumerate(self.buckets):
                out.append(f"{self.name}_bucket{_fmt_labels(k, [('le', _num(b))])} {_num(s[i])}")
            out.append(f"{self.name}_bucket{_fmt_labels(k, [('le', '+Inf')])} {_num(s[-1])}")
            out.append(f"{self.name}_sum{_fmt_labels(k)} {_num(s[-2])}")
            out.append(f"{self.name}_count{_fmt_labels(k)} {_num(s[-1])}")
        return out


class Registry:
    """Named metrics, created on first use; ``render`` gives Prometheus text format."""

    def __init__(self) -> None:
        self._metrics: dict[str, Counter | Gauge | Histogram] = {}
        self._lock = threading.Lock()
        self._collectors: list[Callable[[Registry], None]] = []
        # render may run on a scrape thread and a textfile thread at once; collectors
        # must not interleave
        self._render_lock = threading.Lock()
        self._collector_failures = 0

    def _get(self, cls: type, name: str, help: str) -> object:
        m = self._metrics.get(name)
        if m is None:
            with self._lock:
                m = self._metrics.get(name)
                if m is None:
                    m = self._metrics[name] = cls(name, help)
        if not isinstance(m, cls):
            raise TypeError(f"metric {name} already registered as {m.kind}")
        return m

    def counter(self, name: str, help: str = "") -> Counter:
        m = self._get(Counter, name, help)
        assert isinstance(m, Counter)
        return m

    def gauge(self, name: str, help: str = "") -> Gauge:
        m = self._get(Gauge, name, help)
        assert isinstance(m, Gauge)
        return m

    def histogram(self, name: str, help: str = "",
                  buckets: tuple[float, ...] = Histogram.DEFAULT_BUCKETS) -> Histogram:
        m = self._metrics.get(name)
        if m is None:
            with self._lock:
                m = self._metrics.setdefault(name, Histogram(name, help, buckets))
        assert isinstance(m, Histogram)
        return m

    def add_collector(self, fn: Callable[[Registry], None]) -> None:
        """Call ``fn(registry)`` at the start of every :meth:`render` (or :meth:`collect`).

        It reads counts kept elsewhere and sets them here (``Counter.set_total``,
        ``Gauge.set``). A collector that raises is logged and skipped; the rest
        of the rendering goes on.
        """
        with self._lock:
            self._collectors.append(fn)

    def collect(self) -> None:
        """Run the collectors now (``render`` does it too)."""
        with self._render_lock:
            self._collect_locked()

    def _collect_locked(self) -> None:
        for fn in list(self._collectors):
            try:
                fn(self)
            except Exception as exc:
                self._collector_failures += 1
                if self._collector_failures <= 3 or self._collector_failures % 1000 == 0:
                    log.warning("metrics collector %s failed: %s: %s",
                                getattr(fn, "__qualname__", fn), type(exc).__name__, exc)

    def render(self) -> str:
        with self._render_lock:
            self._collect_locked()
            return self._render_locked()

    def _render_locked(self) -> str:
        lines: list[str] = []
        for name in sorted(self._metrics):
            m = self._metrics[name]
            if m.help:
                lines.append(f"# HELP {name} {m.help}")
            lines.append(f"# TYPE {name} {m.kind}")
            lines.extend(m.samples())
        return "\n".join(lines) + "\n"
