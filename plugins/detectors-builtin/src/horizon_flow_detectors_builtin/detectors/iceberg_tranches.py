"""Iceberg tranches in order events: one actor re-posting the same size at the
same price as soon as its previous order there has been filled.

Zotikov and Antonov detect icebergs in market-by-order data this way: each
tranche of an iceberg is a new order at the same price, with the same
displayed size, entering right after the previous tranche was executed in
full. The level book cannot see this where other orders rest at the same
price (the level never empties, or its largest size was someone else's),
which on a busy market is most of the time; where order events name their
actor, the tranche chain can be followed directly, whatever else rests there.

This module only keeps the chains; :mod:`.iceberg` judges them against the
same thresholds as its level episodes and reports the findings.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from horizon_flow_core.events import MarketEvent

from ..common import BUY, SELL

#: Identified orders followed per market; the oldest is forgotten past this.
MAX_ORDERS_PER_MARKET = 100_000
#: Chains kept per market; the oldest is forgotten past this.
MAX_CHAINS_PER_MARKET = 10_000
#: A tranche counts as filled when what is left is below this share of it.
_FILLED = 1e-9


class Chain:
    """One actor's consecutive tranches at one (side, price)."""

    __slots__ = ("actor", "side", "price", "size", "start_ts", "executed", "executions",
                 "refills", "refill_sizes", "filled_ts", "last_ts", "fired", "best",
                 "best_closeness")

    def __init__(self, actor: str, side: str, price: float, size: float, start_ts: int,
                 executed: float, executions: int, filled_ts: int) -> None:
        self.actor = actor
        self.side = side
        self.price = price
        self.size = size  # the first tranche's: what the iceberg displays
        self.start_ts = start_ts
        self.executed = executed
        self.executions = executions
        self.refills = 0
        self.refill_sizes: list[float] = []
        # when the last tranche was filled in full (-1: a tranche is resting)
        self.filled_ts = filled_ts
        self.last_ts = filled_ts
        self.fired = False
        # the closest miss so far (the judged numbers) and its closeness
        self.best: tuple[float, ...] | None = None
        self.best_closeness = 0.0


#: An identified resting order: (actor, side, price, size, placed ts, its chain or None).
#: A tuple, not an object: one is made per placement, and most are only ever canceled.
_Order = tuple[str, str, float, float, int, Chain | None]


class TrancheChains:
    """The identified resting orders of one market and the tranche chains they form.

    ``refill_ns``: longest time from a tranche's last fill to the next
    tranche's placement. ``tolerance``: how far (as a share of the first
    tranche) a later tranche's size may differ.
    """

    __slots__ = ("refill_ns", "tolerance", "orders", "partial", "chains")

    def __init__(self, refill_ns: int, tolerance: float) -> None:
        self.refill_ns = refill_ns
        self.tolerance = tolerance
        self.orders: dict[str, _Order] = {}
        # (volume filled, fills) of orders partly filled, by order id
        self.partial: dict[str, tuple[float, int]] = {}
        self.chains: dict[tuple[str, str, float], Chain] = {}

    def placed(self, ev: MarketEvent, actor: str) -> Chain | None:
        """A placement by ``actor``; a chain it ends (to report as a near-miss), if any."""
        oid, side, price, size = ev.order_id, ev.side, ev.price, ev.size
        if oid is None or price is None or not size or (side != BUY and side != SELL):
            return None
        ended: Chain | None = None
        chain: Chain | None = None
        chains = self.chains
        if chains:
            key = (actor, side, price)
            chain = chains.get(key)
            if chain is not None:
                filled_ts = chain.filled_ts
                if (filled_ts >= 0 and ev.ts - filled_ts <= self.refill_ns
                        and abs(size - chain.size) <= self.tolerance * chain.size):
                    chain.refills += 1
                    if len(chain.refill_sizes) < 50:
                        chain.refill_sizes.append(size)
                    chain.filled_ts = -1
                    chain.last_ts = ev.ts
                else:
                    # too late, another size, or a second order beside a resting
                    # tranche: not the next tranche; the chain is over
                    ended = chains.pop(key)
                    chain = None
        orders = self.orders
        if oid in orders:  # an id placed again replaces its order
            old = orders.pop(oid)[5]
            self.partial.pop(oid, None)
            if old is not None and old is not chain:
                ended = ended or self._unchain(old)
        elif len(orders) >= MAX_ORDERS_PER_MARKET:
            # the oldest tenth at once: dropping one at a time would rescan, on
            # every placement, the slots of all the ids already dropped
            for old_oid in list(islice(orders, max(1, MAX_ORDERS_PER_MARKET // 10))):
                self._forget(old_oid)
        orders[oid] = (actor, side, price, size, ev.ts, chain)
        return ended

    def filled(self, ev: MarketEvent, size: float) -> Chain | None:
        """A passive fill of an identified order; the chain whose tranche it completed."""
        oid = ev.order_id
        if oid is None:
            return None
        order = self.orders.get(oid)
        if order is None:
            return None
        actor, side, price, placed_size, placed_ts, chain = order
        done, fills = self.partial.pop(oid, (0.0, 0))
        done += size
        fills += 1
        if chain is not None:
            chain.executed += size
            chain.executions += 1
            chain.last_ts = ev.ts
        if placed_size - done > _FILLED * placed_size:
            self.partial[oid] = (done, fills)
            return None
        del self.orders[oid]
        if chain is None:
            key = (actor, side, price)
            chains = self.chains
            chains.pop(key, None)  # a chain there is over (its tranche was not refilled)
            if len(chains) >= MAX_CHAINS_PER_MARKET:
                for old_key in list(islice(chains, max(1, MAX_CHAINS_PER_MARKET // 10))):
                    del chains[old_key]  # the oldest tenth (as for orders above)
            chain = chains[key] = Chain(actor, side, price, placed_size, placed_ts, done, fills,
                                        ev.ts)
        else:
            chain.filled_ts = ev.ts
        return chain

    def withdrawn(self, oid: str | None) -> Chain | None:
        """A cancel or amend of an identified order; the chain it ends, if any."""
        if oid is None or oid not in self.orders:
            return None
        return self._forget(oid)

    def _forget(self, oid: str) -> Chain | None:
        """Drop an order; the chain it ends (its resting tranche), if any."""
        chain = self.orders.pop(oid)[5]
        self.partial.pop(oid, None)
        return None if chain is None else self._unchain(chain)

    def _unchain(self, chain: Chain) -> Chain:
        key = (chain.actor, chain.side, chain.price)
        if self.chains.get(key) is chain:
            del self.chains[key]
        return chain

    def chain(self, actor: str, side: str, price: float) -> Chain | None:
        return self.chains.get((actor, side, price))

    def evict(self, before_ts: int) -> list[Chain]:
        """Forget orders placed and chains last active before ``before_ts``; the chains."""
        stale = [self.chains.pop(k) for k in [k for k, c in self.chains.items()
                                               if c.last_ts < before_ts]]
        for oid in [o for o, order in self.orders.items() if order[4] < before_ts]:
            self._forget(oid)
        return stale

    def open_chains(self) -> list[Chain]:
        """Every chain, in a fixed order (actor, side, price)."""
        return [self.chains[k] for k in sorted(self.chains)]


def chain_evidence(chain: Chain) -> dict[str, Any]:
    return {"tranche_size": chain.size, "tranches": chain.refills + 1,
            "refill_sizes": list(chain.refill_sizes)}
