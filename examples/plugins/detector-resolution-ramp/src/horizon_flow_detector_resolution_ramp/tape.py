"""What the detector remembers per market: recent prints and who aggressed in them.

Prints come from ``trade.tape`` (the public tape; ``side`` is the
aggressor's). Aggressive ``order.filled`` events (``aggressor`` true, with an
``actor_id``) say who was behind them. A market whose venue gives no tape
(only fills) gets its prints from the aggressive fills instead: each
execution has exactly one aggressor fill, so nothing is counted twice. The
first tape print of a market switches it to tape prints for good, dropping
the prints taken from fills until then.

Both are kept for ``window_s + trend_s`` of event time and at most
``max_prints_per_market`` entries, so memory stays bounded.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple


class Print(NamedTuple):
    ts: int
    price: float
    size: float
    side: str | None  # the aggressor's side, when known
    from_fill: bool = False


class Aggression(NamedTuple):
    ts: int
    actor: str
    side: str
    size: float


class MarketTape:
    __slots__ = ("fills", "last_ts", "prints", "tape_seen")

    def __init__(self, max_prints: int) -> None:
        self.prints: deque[Print] = deque(maxlen=max_prints)
        self.fills: deque[Aggression] = deque(maxlen=max_prints)
        self.tape_seen = False
        self.last_ts = 0

    def add_print(self, p: Print, horizon_ns: int) -> None:
        if not p.from_fill and not self.tape_seen:
            self.tape_seen = True
            kept = [q for q in self.prints if not q.from_fill]
            self.prints.clear()
            self.prints.extend(kept)
        self.prints.append(p)
        self.last_ts = max(self.last_ts, p.ts)
        self._trim(p.ts - horizon_ns)

    def add_fill(self, a: Aggression, horizon_ns: int) -> None:
        self.fills.append(a)
        self.last_ts = max(self.last_ts, a.ts)
        self._trim(a.ts - horizon_ns)

    def _trim(self, before_ts: int) -> None:
        prints, fills = self.prints, self.fills
        while prints and prints[0].ts < before_ts:
            prints.popleft()
        while fills and fills[0].ts < before_ts:
            fills.popleft()
