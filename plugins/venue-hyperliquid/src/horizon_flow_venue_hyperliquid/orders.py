"""Order lifecycle from Hyperliquid order statuses: placed, amended, cancelled, filled.

The venue reports *statuses* (``open``, ``filled``, ``canceled``,
``...Canceled``, ``...Rejected``, ``triggered``) per order id, from
``orderUpdates``, the info endpoint's ``historicalOrders``/``openOrders``
and the node's ``order_statuses``. It has no amend message: a modify is a
cancel-replace, where the replacement opens under a **new oid with the same
cloid** and the old oid is then cancelled. The tracker turns the sequence
into events:

* ``open`` for an unknown oid: ``order.placed`` - unless an open order of the
  same wallet carries the same cloid, which makes it ``order.amended`` of
  that order (and the old oid's coming cancel is swallowed);
* ``open`` again for an open oid with a new price, a larger size or a new
  original size: ``order.amended``; a smaller size alone is a partial fill
  seen through a re-report (an ``openOrders`` poll) and changes only state;
* ``filled``: when the caller says no fill stream reports this wallet's
  executions (``report_fills``), ``order.filled`` for what was left (prior
  remaining minus the size still open), minus what fill streams already
  reported for that oid, so an execution is counted once. Its price is the
  order's limit price (``extra.price_is_limit``). Otherwise the order is
  just closed: the fill stream's events (exact price, trade id, taker flag)
  are the execution records;
* a cancel status: ``order.canceled`` with the size left. A cancel for an
  oid never seen open, when the status names the order's own placement
  time, is preceded by an ``order.placed`` at that time (``extra.inferred``)
  so detectors see the whole resting life of orders placed while we were
  not listening (reconnects, ``historicalOrders`` backfills);
* a rejection: ``order.canceled`` with ``extra.rejected`` (the order never
  rested).

The ``order_id`` of every event is the first oid of the order's life, so a
cancel-replaced order keeps one identity (``extra.oid`` has the venue's
current oid). Finished oids are remembered (bounded) and later reports about
them are ignored, so replays after a reconnect emit nothing twice.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, Final

import attrs

from horizon_flow_core.events import MarketEvent

from .bounded import BoundedKeySet, BoundedMap
from .fields import VENUE, dec, leftovers, oid_str, oid_value, side, text
from .timeparse import ms_to_ns

_ZERO: Final = Decimal(0)

# Order fields with an event column; every other field goes to ``extra``.
_MAPPED: Final = frozenset({"coin", "side", "limitPx", "sz", "oid", "timestamp", "origSz",
                            "children"})


def status_class(status: str) -> str:
    """``open`` / ``filled`` / ``cancel`` / ``reject`` / ``unknown``."""
    if status in ("open", "triggered"):
        return "open"
    if status == "filled":
        return "filled"
    if status.endswith(("Rejected", "rejected")):
        return "reject"
    if status == "canceled" or status.endswith(("Canceled", "Cancel", "cancelled", "Cancelled")):
        return "cancel"
    return "unknown"


@attrs.define(slots=True)
class TrackedOrder:
    order_id: str  # the first oid of the order's life (our identity for it)
    oid: str  # the venue's current oid
    wallet: str | None
    coin: str
    side: str
    px: Decimal
    remaining: Decimal
    orig_sz: Decimal | None
    cloid: str | None
    replaced: bool = False  # superseded by a cancel-replace: its cancel is not news


class OrderTracker:
    """Infers order events from statuses. One per normalizer; bounded by ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self.open: BoundedMap[str, TrackedOrder] = BoundedMap(capacity)
        self._by_cloid: BoundedMap[tuple[str, str], str] = BoundedMap(capacity)
        self._closed: BoundedKeySet[str] = BoundedKeySet(capacity)
        # Size reported by fill streams for oids we do not track (yet).
        self._fill_reported: BoundedMap[str, Decimal] = BoundedMap(capacity)
        # Size reported as ``order.filled`` from a ``filled`` status, not yet
        # matched by a fill-stream report of the same execution.
        self._status_reported: BoundedMap[str, Decimal] = BoundedMap(capacity)
        #: statuses not understood, by name (operators see them in metrics/logs)
        self.unknown_statuses: Counter[str] = Counter()

    # ------------------------------------------------------------------ statuses

    def on_status(self, order: dict[str, Any], status: str, ts: int, wallet: str | None,
                  extra: dict[str, Any], where: str, *,
                  report_fills: bool = True) -> list[MarketEvent]:
        oid = oid_str(order.get("oid"), "order.oid", where)
        if oid in self._closed:
            return []
        cls = status_class(status)
        if cls == "unknown":
            self.unknown_statuses[status] += 1
            return []
        coin = text(order, "coin", where)
        sd = side(order.get("side"), "order.side", where)
        px = dec(order.get("limitPx"), "order.limitPx", where)
        sz = dec(order.get("sz"), "order.sz", where)
        orig = order.get("origSz")
        orig_sz = dec(orig, "order.origSz", where) if orig is not None else None
        cloid = order.get("cloid") if type(order.get("cloid")) is str else None
        extra = {**extra, **leftovers(order, _MAPPED, where)}
        extra["status"] = status
        cur = self.open.get(oid)
        if cur is not None and cur.wallet is None and wallet is not None:
            cur.wallet = wallet
        if cls == "open":
            return self._open(oid, cur, wallet, coin, sd, px, sz, orig_sz, cloid, ts, extra)
        if cls == "filled":
            if not report_fills:
                self._close(oid, cur)
                return []
            return self._filled(oid, cur, wallet, coin, sd, px, sz, orig_sz, ts, extra)
        return self._cancel(oid, cur, wallet, coin, sd, px, sz, orig_sz, ts, extra,
                            rejected=cls == "reject", order=order, where=where)

    def _open(self, oid: str, cur: TrackedOrder | None, wallet: str | None, coin: str, sd: str,
              px: Decimal, sz: Decimal, orig_sz: Decimal | None, cloid: str | None, ts: int,
              extra: dict[str, Any]) -> list[MarketEvent]:
        if cur is None:
            prev = self._replaced_by_cloid(wallet, cloid, oid)
            if prev is not None:
                prev.replaced = True
                order = TrackedOrder(prev.order_id, oid, wallet or prev.wallet, coin, sd, px, sz,
                                     orig_sz, cloid)
                self._track(order)
                extra["oid"] = oid_value(oid)
                extra["replaces_oid"] = oid_value(prev.oid)
                return [self._event("order.amended", order, ts, px, sz, extra)]
            order = TrackedOrder(oid, oid, wallet, coin, sd, px, sz, orig_sz, cloid)
            self._track(order)
            return [self._event("order.placed", order, ts, px, sz, extra)]
        changed_orig = orig_sz is not None and cur.orig_sz is not None and orig_sz != cur.orig_sz
        if px != cur.px or sz > cur.remaining or changed_orig:
            cur.px, cur.remaining = px, sz
            if orig_sz is not None:
                cur.orig_sz = orig_sz
            if cur.order_id != oid:
                extra["oid"] = oid_value(oid)
            return [self._event("order.amended", cur, ts, px, sz, extra)]
        cur.remaining = sz  # same or smaller: a re-report after partial fills
        return []

    def _filled(self, oid: str, cur: TrackedOrder | None, wallet: str | None, coin: str, sd: str,
                px: Decimal, sz: Decimal, orig_sz: Decimal | None, ts: int,
                extra: dict[str, Any]) -> list[MarketEvent]:
        if cur is not None:
            prior = cur.remaining
            order = cur
        else:
            # Never seen open (an IOC or market order, or placed while we were away):
            # everything it had was filled, unless the status says otherwise.
            prior = orig_sz if orig_sz is not None else sz
            left = sz if orig_sz is not None else _ZERO
            order = TrackedOrder(oid, oid, wallet, coin, sd, px, left, orig_sz, None)
            sz = left
        amount = prior - sz - (self._fill_reported.pop(oid) or _ZERO)
        self._close(oid, cur)
        if amount <= 0:
            return []
        self._status_reported[oid] = amount
        extra["price_is_limit"] = True
        if order.order_id != oid:
            extra["oid"] = oid_value(oid)
        return [self._event("order.filled", order, ts, px, amount, extra)]

    def _cancel(self, oid: str, cur: TrackedOrder | None, wallet: str | None, coin: str, sd: str,
                px: Decimal, sz: Decimal, orig_sz: Decimal | None, ts: int,
                extra: dict[str, Any], *, rejected: bool, order: dict[str, Any],
                where: str) -> list[MarketEvent]:
        placed_ts = None  # an untracked cancel's placement time, read before any state changes
        if cur is None and not rejected and order.get("timestamp") is not None:
            placed_ts = ms_to_ns(order["timestamp"], "order.timestamp")
        self._close(oid, cur)
        if cur is not None:
            if cur.replaced:
                return []  # the old leg of a cancel-replace: already reported as amended
            size = sz if sz > 0 else cur.remaining
            if cur.order_id != oid:
                extra["oid"] = oid_value(oid)
            return [self._event("order.canceled", cur, ts, cur.px, size, extra)]
        tracked = TrackedOrder(oid, oid, wallet, coin, sd, px, sz, orig_sz, None)
        if rejected:
            extra["rejected"] = True
            return [self._event("order.canceled", tracked, ts, px, sz, extra)]
        out: list[MarketEvent] = []
        if placed_ts is not None and placed_ts <= ts:
            placed_size = orig_sz if orig_sz is not None else sz
            out.append(self._event("order.placed", tracked, placed_ts, px, placed_size,
                                   {**extra, "status": "open", "inferred": True}))
        out.append(self._event("order.canceled", tracked, ts, px, sz, extra))
        return out

    def on_external_cancel(self, oid: str, coin: str, ts: int, wallet: str | None,
                           extra: dict[str, Any]) -> list[MarketEvent]:
        """A cancel the venue made (``nonUserCancel``): only the oid and coin are given."""
        if oid in self._closed:
            return []
        cur = self.open.get(oid)
        self._close(oid, cur)
        if cur is not None:
            if cur.replaced:
                return []
            if cur.order_id != oid:
                extra["oid"] = oid_value(oid)
            return [self._event("order.canceled", cur, ts, cur.px, cur.remaining, extra)]
        return [MarketEvent(VENUE, coin, "order.canceled", ts, actor_id=wallet, order_id=oid,
                            extra=extra or None)]

    # ------------------------------------------------------------------ fills

    def on_fill(self, oid: str, size: Decimal) -> tuple[bool, str | None, str | None]:
        """Account a fill-stream execution of ``size`` for ``oid``.

        Returns ``(emit, order_id, wallet)``: ``emit`` False when a ``filled``
        status already reported this size; ``order_id`` is the order's stable
        id (its first oid) when known; ``wallet`` its owner when known.
        """
        reported = self._status_reported.get(oid)
        if reported is not None:
            if reported >= size:
                left = reported - size
                if left > 0:
                    self._status_reported[oid] = left
                else:
                    self._status_reported.pop(oid)
                return False, None, None
            self._status_reported.pop(oid)
        cur = self.open.get(oid)
        if cur is not None:
            cur.remaining = max(_ZERO, cur.remaining - size)
            return True, cur.order_id, cur.wallet
        if oid not in self._closed:
            self._fill_reported[oid] = (self._fill_reported.get(oid) or _ZERO) + size
        return True, None, None

    def order_id_of(self, oid: str) -> str | None:
        cur = self.open.get(oid)
        return cur.order_id if cur is not None else None

    def side_of(self, oid: str) -> str | None:
        cur = self.open.get(oid)
        return cur.side if cur is not None else None

    # ------------------------------------------------------------------ internals

    def _replaced_by_cloid(self, wallet: str | None, cloid: str | None,
                           oid: str) -> TrackedOrder | None:
        if cloid is None:
            return None
        prev_oid = self._by_cloid.get((wallet or "", cloid))
        if prev_oid is None or prev_oid == oid:
            return None
        prev = self.open.get(prev_oid)
        return prev if prev is not None and not prev.replaced else None

    def _track(self, order: TrackedOrder) -> None:
        self.open[order.oid] = order
        if order.cloid is not None:
            self._by_cloid[(order.wallet or "", order.cloid)] = order.oid

    def _close(self, oid: str, cur: TrackedOrder | None) -> None:
        self._closed.add(oid)
        if cur is not None:
            self.open.pop(oid)
            if cur.cloid is not None and self._by_cloid.get((cur.wallet or "", cur.cloid)) == oid:
                self._by_cloid.pop((cur.wallet or "", cur.cloid))

    @staticmethod
    def _event(kind: str, order: TrackedOrder, ts: int, px: Decimal, size: Decimal,
               extra: dict[str, Any]) -> MarketEvent:
        return MarketEvent(VENUE, order.coin, kind, ts, actor_id=order.wallet,
                           order_id=order.order_id, side=order.side, price=float(px),
                           size=float(size), extra=extra or None)
