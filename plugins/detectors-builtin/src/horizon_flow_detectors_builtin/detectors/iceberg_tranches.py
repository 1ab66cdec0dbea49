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

#: Identified orders followed per market; the oldest tenth is forgotten past this.
MAX_ORDERS_PER_MARKET = 100_000
#: Chains kept per market (one an actor); the oldest tenth is forgotten past this.
MAX_CHAINS_PER_MARKET = 10_000
#: A tranche counts as filled when what is left is below this share of it.
_FILLED = 1e-9


class Chain:
    """One actor's consecutive tranches at one (side, price)."""

    __slots__ = ("actor", "side", "price", "size", "start_ts", "executed", "executions",
                 "refills", "refill_sizes", "filled_ts", "last_ts", "live", "fired", "best",
                 "best_closeness", "two_sided")

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
        self.live: str | None = None  # the order id of the resting tranche
        self.fired = False
        # the closest miss so far (the judged numbers) and its closeness
        self.best: tuple[float, ...] | None = None
        self.best_closeness = 0.0
        # the actor placed on the other side while the chain lived: a market
        # maker's requotes, held to the strict size tolerance
        self.two_sided = False


class TrancheChains:
    """The identified resting orders of one market and the tranche chains they form.

    ``refill_ns``: longest time from a tranche's last fill to the next
    tranche's placement. ``tolerance``: how far (as a share of the first
    tranche) a later tranche's size may differ; ``loose_tolerance`` (at least
    ``tolerance``): the same for an actor that quoted only the chain's side
    meanwhile, since iceberg orders may randomize their peaks and a market
    maker re-posting varied sizes after fills quotes the other side too.

    Per placement this keeps only the order's size and time (a placement is the
    most common order event, and most orders are only ever cancelled); the
    rest of a chain comes from the fills. Each actor has at most one chain in a
    market, its latest: an iceberg works one price at a time.
    """

    __slots__ = ("refill_ns", "tolerance", "loose_tolerance", "orders", "partial", "chains")

    def __init__(self, refill_ns: int, tolerance: float,
                 loose_tolerance: float | None = None) -> None:
        self.refill_ns = refill_ns
        self.tolerance = tolerance
        self.loose_tolerance = max(tolerance, loose_tolerance or 0.0)
        self.orders: dict[str, tuple[float, int]] = {}  # order id -> (size, placed ts)
        # (volume filled, fills) of orders partly filled, by order id
        self.partial: dict[str, tuple[float, int]] = {}
        self.chains: dict[str, Chain] = {}  # by actor

    def placed(self, ev: MarketEvent, actor: str) -> Chain | None:
        """A placement by ``actor``; a chain it ends (to report as a near-miss), if any."""
        oid, size = ev.order_id, ev.size
        if oid is None or not size or ev.price is None:
            return None
        ended: Chain | None = None
        chains = self.chains
        if chains:
            chain = chains.get(actor)
            if chain is not None and chain.side != ev.side:
                chain.two_sided = True
            elif chain is not None and chain.price == ev.price:
                filled_ts = chain.filled_ts
                tolerance = self.tolerance if chain.two_sided else self.loose_tolerance
                if (filled_ts >= 0 and ev.ts - filled_ts <= self.refill_ns
                        and abs(size - chain.size) <= tolerance * chain.size):
                    chain.refills += 1
                    if len(chain.refill_sizes) < 50:
                        chain.refill_sizes.append(size)
                    chain.filled_ts = -1
                    chain.last_ts = ev.ts
                    chain.live = oid
                else:
                    # too late, another size, or a second order beside a resting
                    # tranche: not the next tranche; the chain is over
                    ended = chains.pop(actor)
        orders = self.orders
        if oid in orders:
            self.partial.pop(oid, None)  # an id placed again replaces its order
        elif len(orders) >= MAX_ORDERS_PER_MARKET:
            # the oldest tenth at once: dropping one at a time would rescan, on
            # every placement, the slots of all the ids already dropped
            for old in list(islice(orders, max(1, MAX_ORDERS_PER_MARKET // 10))):
                del orders[old]
                self.partial.pop(old, None)
        orders[oid] = (size, ev.ts)
        return ended

    def filled(self, ev: MarketEvent, size: float, side: str) -> Chain | None:
        """A passive fill of ``actor``'s order on ``side``; the chain whose tranche it
        completed (new or continued), if it completed one."""
        oid, actor = ev.order_id, ev.actor_id
        if oid is None or actor is None or ev.price is None:
            return None
        order = self.orders.get(oid)
        if order is None:
            return None
        done, fills = self.partial.pop(oid, (0.0, 0))
        done += size
        fills += 1
        chains = self.chains
        chain = chains.get(actor)
        if chain is not None and chain.live != oid:
            chain = None  # the actor's chain rests elsewhere: this order is not in it
        if chain is not None:
            chain.executed += size
            chain.executions += 1
            chain.last_ts = ev.ts
        placed_size = order[0]
        if placed_size - done > _FILLED * placed_size:
            self.partial[oid] = (done, fills)
            return None
        del self.orders[oid]
        if chain is None:
            chains.pop(actor, None)  # a chain of the actor elsewhere is over
            if len(chains) >= MAX_CHAINS_PER_MARKET:
                for old in list(islice(chains, max(1, MAX_CHAINS_PER_MARKET // 10))):
                    del chains[old]  # the oldest tenth (as for orders above)
            chain = chains[actor] = Chain(actor, side, ev.price, placed_size, order[1], done,
                                          fills, ev.ts)
        else:
            chain.filled_ts = ev.ts
            chain.live = None
        return chain

    def withdrawn(self, oid: str | None, actor: str | None) -> Chain | None:
        """A cancel or amend of an identified order; the chain it ends, if any."""
        if oid is None or self.orders.pop(oid, None) is None:
            return None
        self.partial.pop(oid, None)
        chain = self.chains.get(actor) if actor is not None else None
        if chain is None or chain.live != oid:
            return None
        del self.chains[actor]  # type: ignore[arg-type]
        return chain

    def chain(self, actor: str, side: str, price: float) -> Chain | None:
        chain = self.chains.get(actor)
        return chain if chain is not None and chain.side == side and chain.price == price else None

    def evict(self, before_ts: int) -> list[Chain]:
        """Forget orders placed and chains last active before ``before_ts``; the chains."""
        stale = [self.chains.pop(a) for a in [a for a, c in self.chains.items()
                                               if c.last_ts < before_ts]]
        for oid in [o for o, (_, ts) in self.orders.items() if ts < before_ts]:
            del self.orders[oid]
            self.partial.pop(oid, None)
        return stale

    def open_chains(self) -> list[Chain]:
        """Every chain, in a fixed order (by actor)."""
        return [self.chains[a] for a in sorted(self.chains)]


def chain_evidence(chain: Chain) -> dict[str, Any]:
    return {"tranche_size": chain.size, "tranches": chain.refills + 1,
            "refill_sizes": list(chain.refill_sizes)}
