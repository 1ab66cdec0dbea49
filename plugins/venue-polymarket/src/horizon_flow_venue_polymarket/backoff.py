"""Exponential backoff with jitter, for reconnects and RPC retries.

Jitter spreads reconnects of many shards (and many deployments) so they do not
hit the venue in lockstep after an outage. It only changes *when* we retry,
never what is recorded, so replays stay byte-identical.
"""

from __future__ import annotations

import random


class Backoff:
    """``next()`` gives ``initial * 2**n`` capped at ``maximum``, then scaled by a random
    factor in ``[1 - jitter, 1]``; ``reset()`` after a success."""

    def __init__(self, initial: float, maximum: float, *, jitter: float = 0.5,
                 rng: random.Random | None = None) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("need 0 < initial <= maximum")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
        self.attempts = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        base = min(self.maximum, self.initial * float(2 ** min(self.attempts, 60)))
        self.attempts += 1
        return base * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        self.attempts = 0
