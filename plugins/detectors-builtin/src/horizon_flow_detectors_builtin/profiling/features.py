"""Per-actor incremental features: what an actor did, kept in O(1) per event.

Everything here is updated one event at a time and never stores the events
themselves, so a long-lived daemon's memory grows with the number of actors
(bounded by the profiler) and the markets each trades (bounded here), not with
the length of the feed.

Inventory is counted from the actor's own ``order.filled`` events only: an
execution between two known parties is one fill per participant, so each
side's fill moves that side's inventory once and the public ``trade.tape``
print is never counted on top.
"""

from __future__ import annotations

import math
from typing import Any, Final

from horizon_flow_core.events import MarketEvent

NS_PER_S: Final = 1_000_000_000
NS_PER_HOUR: Final = 3_600 * NS_PER_S
NS_PER_DAY: Final = 24 * NS_PER_HOUR

#: Where the fills of markets beyond ``max_markets`` are pooled.
OVERFLOW_MARKET: Final = "__other__"

#: How many markets a profile lists by name (largest volume first).
TOP_MARKETS: Final = 10


def _fin(x: float) -> float:
    """A float feature as stored: inf and nan as 0.0, -0.0 as 0.0 (``x - x`` is 0.0
    exactly when ``x`` is finite)."""
    return x + 0.0 if x - x == 0.0 else 0.0


def _number(value: Any) -> float | None:
    """A gas price or nonce as a number: ints, floats, decimal or 0x-hex strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            if text[:2].lower() == "0x":
                return float(int(text, 16))
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


class Welford:
    """Running count, mean, variance, min and max (Welford's online algorithm)."""

    __slots__ = ("n", "mean", "m2", "lo", "hi")

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.lo = math.inf
        self.hi = -math.inf

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)
        if x < self.lo:
            self.lo = x
        if x > self.hi:
            self.hi = x

    @property
    def variance(self) -> float:
        """Population variance (0 for fewer than two samples)."""
        return self.m2 / self.n if self.n > 1 else 0.0


class MarketInventory:
    """One actor's signed position in one market, and how it moved.

    The inventory is sampled after each of the actor's fills. Its distance
    from the end-of-period level is what the paper uses to tell an
    intermediary (stays near it) from a trader who swings through large
    positions; ``sum((x_t - e)^2) = s2 - 2 e s1 + n e^2`` lets it be computed
    for whatever ``e`` is at snapshot time without keeping the samples.
    """

    __slots__ = ("net", "volume", "notional", "n", "s1", "s2", "max_abs", "crossings",
                 "last_sign")

    def __init__(self) -> None:
        self.net = 0.0
        self.volume = 0.0
        self.notional = 0.0
        self.n = 0
        self.s1 = 0.0
        self.s2 = 0.0
        self.max_abs = 0.0
        self.crossings = 0
        self.last_sign = 0

    def fill(self, signed_size: float, size: float, price: float) -> None:
        self.net += signed_size
        self.volume += size
        self.notional += price * size
        x = self.net
        self.n += 1
        self.s1 += x
        self.s2 += x * x
        if abs(x) > self.max_abs:
            self.max_abs = abs(x)
        # Tolerance so float residue of a flat position is not a sign.
        sign = 0 if abs(x) <= 1e-9 * max(1.0, self.volume) else (1 if x > 0 else -1)
        if sign and self.last_sign and sign != self.last_sign:
            self.crossings += 1
        if sign:
            self.last_sign = sign

    def rms_from_end(self) -> float:
        """Root-mean-square distance of the sampled inventory from the current net."""
        if self.n == 0:
            return 0.0
        e = self.net
        msd = (self.s2 - 2.0 * e * self.s1 + self.n * e * e) / self.n
        return math.sqrt(msd) if msd > 0.0 else 0.0


class ActorState:
    """Live features of one actor on one venue."""

    __slots__ = (
        "venue", "actor_id", "event_count", "placements", "cancels", "amends", "fills",
        "aggressor_fills", "maker_fills", "self_trades", "unsigned_fills", "out_of_order",
        "first_ts", "last_ts", "last_seq", "ia_n", "ia_mean", "ia_m2", "ia_lo", "ia_hi",
        "placed_size", "cancelled_size",
        "volume", "notional", "buy_volume", "sell_volume", "markets", "overflow_events",
        "hours", "active_days", "last_day", "gas", "nonce", "nonce_regressions", "last_nonce",
        "dirty", "max_markets", "hour_from", "hour_to", "hour_slot", "hour_base",
    )

    def __init__(self, venue: str, actor_id: str, max_markets: int) -> None:
        self.venue = venue
        self.actor_id = actor_id
        self.max_markets = max_markets
        self.event_count = 0
        self.placements = 0
        self.cancels = 0
        self.amends = 0
        self.fills = 0
        self.aggressor_fills = 0
        self.maker_fills = 0
        self.self_trades = 0
        self.unsigned_fills = 0
        self.out_of_order = 0
        self.first_ts = 0
        self.last_ts = 0
        self.last_seq = 0
        # Welford's running stats of the gaps between events (Welford's
        # fields), kept in this object's own slots: one object less to touch
        # per event.
        self.ia_n = 0
        self.ia_mean = 0.0
        self.ia_m2 = 0.0
        self.ia_lo = math.inf
        self.ia_hi = -math.inf
        self.placed_size = 0.0
        self.cancelled_size = 0.0
        self.volume = 0.0
        self.notional = 0.0
        self.buy_volume = 0.0
        self.sell_volume = 0.0
        self.markets: dict[str, MarketInventory] = {}
        self.overflow_events = 0
        self.hours = [0] * 24
        self.active_days = 0
        self.last_day = -1
        # Made on the first gas price or nonce seen: most venues send neither,
        # and every actor's first event would otherwise build two objects.
        self.gas: Welford | None = None
        self.nonce: Welford | None = None
        self.nonce_regressions = 0
        self.last_nonce: float | None = None
        self.dirty = False
        # The hour of day of the last event, valid for ts in [hour_from,
        # hour_to): most events fall in the same hour as the one before, so
        # the histogram's slot is found by two comparisons, not a division.
        # The events since ``event_count`` was ``hour_base`` are all in that
        # slot and are added to ``hours`` only when the slot changes (see
        # ``hour_histogram``): nothing is counted twice per event.
        self.hour_from = 0
        self.hour_to = 0  # empty: the first event computes its hour
        self.hour_slot = 0
        self.hour_base = 0

    def hour_histogram(self) -> list[int]:
        """Events per UTC hour of day (a new list), the current hour's included."""
        hours = list(self.hours)
        hours[self.hour_slot] += self.event_count - self.hour_base
        return hours

    # ------------------------------------------------------------------ update

    def _market(self, market_id: str) -> MarketInventory:
        inv = self.markets.get(market_id)
        if inv is None:
            if len(self.markets) >= self.max_markets:
                # Bounded memory: further markets share one pooled inventory
                # (the count is of events pooled: their markets are not remembered).
                self.overflow_events += 1
                market_id = OVERFLOW_MARKET
                inv = self.markets.get(market_id)
            if inv is None:
                inv = MarketInventory()
                self.markets[market_id] = inv
        return inv

    def update(self, ev: MarketEvent, seq: int) -> int:
        """Count ``ev`` in. Returns the number of events counted before it."""
        ts = ev.ts
        n = self.event_count
        if n == 0:
            self.first_ts = self.last_ts = ts
        else:
            dt = ts - self.last_ts
            if dt < 0:
                # Out-of-order feed: counted, and no negative gap enters the stats.
                self.out_of_order += 1
                dt = 0
            else:
                self.last_ts = ts
            # Welford's update (Welford.add), inlined: this runs for every order event.
            x = dt / NS_PER_S
            self.ia_n = k = self.ia_n + 1
            mean = self.ia_mean
            delta = x - mean
            self.ia_mean = mean = mean + delta / k
            self.ia_m2 += delta * (x - mean)
            if x < self.ia_lo:
                self.ia_lo = x
            if x > self.ia_hi:
                self.ia_hi = x
        self.event_count = n + 1
        self.last_seq = seq
        self.dirty = True
        if not self.hour_from <= ts < self.hour_to:
            # Another hour (or an out-of-order event from an earlier one): the
            # events counted in the slot so far go into the histogram, this
            # one starts the new slot's count.
            self.hours[self.hour_slot] += n - self.hour_base
            self.hour_base = n
            hour = ts // NS_PER_HOUR
            self.hour_from = hour * NS_PER_HOUR
            self.hour_to = self.hour_from + NS_PER_HOUR
            self.hour_slot = hour % 24

        kind = ev.kind
        if kind == "order.placed":
            self.placements += 1
            self.placed_size += ev.size or 0.0
            if ev.market_id not in self.markets:  # (_market: a known market is a no-op)
                self._market(ev.market_id)
        elif kind == "order.canceled":
            self.cancels += 1
            self.cancelled_size += ev.size or 0.0
        elif kind == "order.amended":
            self.amends += 1
        elif kind == "order.filled":
            self._fill(ev)

        extra = ev.extra
        if extra:
            gas = _number(extra.get("gas_price"))
            if gas is not None:
                if self.gas is None:
                    self.gas = Welford()
                self.gas.add(gas)
            nonce = _number(extra.get("nonce"))
            if nonce is not None:
                if self.last_nonce is not None and nonce <= self.last_nonce:
                    # A repeated or lower nonce: a replaced or reordered transaction.
                    self.nonce_regressions += 1
                self.last_nonce = nonce
                if self.nonce is None:
                    self.nonce = Welford()
                self.nonce.add(nonce)
        return n

    def _fill(self, ev: MarketEvent) -> None:
        size = abs(ev.size or 0.0)
        price = ev.price or 0.0
        self.fills += 1
        if ev.aggressor is True:
            self.aggressor_fills += 1
        elif ev.aggressor is False:
            self.maker_fills += 1
        if ev.counterparty_id is not None and ev.counterparty_id == self.actor_id:
            self.self_trades += 1
        self.volume += size
        self.notional += abs(price) * size
        day = ev.ts // NS_PER_DAY
        if day != self.last_day:
            self.active_days += 1
            self.last_day = day
        if ev.side == "buy":
            signed = size
            self.buy_volume += size
        elif ev.side == "sell":
            signed = -size
            self.sell_volume += size
        else:
            self.unsigned_fills += 1
            signed = 0.0
        inv = self.markets.get(ev.market_id)
        if inv is None:
            inv = self._market(ev.market_id)
        inv.fill(signed, size, abs(price))

    # ---------------------------------------------------------------- snapshot

    def features(self, min_activity_span_s: float) -> dict[str, Any]:
        """The feature dict of a profile: JSON-safe numbers, lists and dicts only."""
        # Made for every refresh of every profile: one pass over the markets,
        # and each float made finite (and -0.0 plain 0.0) where it is computed,
        # instead of generator passes and a type test over the whole dict.
        # Keys, their order and every value are as they always were.
        volume = self.volume
        markets = self.markets
        nets: list[float] = []
        abs_nets: list[float] = []
        rmss: list[float] = []
        max_abss: list[float] = []
        crossings = 0
        traded: list[tuple[float, str, float]] = []  # (-volume, market, net)
        for k, m in markets.items():
            net = m.net
            nets.append(net)
            abs_nets.append(abs(net))
            rmss.append(m.rms_from_end())
            max_abss.append(m.max_abs)
            crossings += m.crossings
            if m.volume > 0:
                traded.append((-m.volume, k, net))
        net_total = math.fsum(nets)
        abs_net = math.fsum(abs_nets)
        rms = math.fsum(rmss)
        max_abs = math.fsum(max_abss)
        span_s = max(0.0, (self.last_ts - self.first_ts) / NS_PER_S)
        hours = max(span_s, min_activity_span_s) / 3600.0
        # by volume, largest first, then by name (market names are unique)
        traded.sort()
        fills = self.fills
        placements = self.placements
        ia_n = self.ia_n
        if volume > 0:
            net_share = _fin(net_total / volume)
            end_share = _fin(abs_net / volume)
            rms_share = _fin(rms / volume)
            max_share = _fin(max_abs / volume)
        else:
            net_share = end_share = rms_share = max_share = 0.0
        out: dict[str, Any] = {
            "event_count": self.event_count,
            "placements": placements,
            "cancels": self.cancels,
            "amends": self.amends,
            "fills": fills,
            "cancel_ratio": _fin(self.cancels / max(placements, 1)),
            "fill_ratio": _fin(fills / max(placements, 1)),
            "placed_size": _fin(self.placed_size),
            "cancelled_size": _fin(self.cancelled_size),
            "mean_order_size": _fin(self.placed_size / placements) if placements else 0.0,
            "inter_arrival_mean_s": _fin(self.ia_mean),
            "inter_arrival_var_s2": _fin(self.ia_m2 / ia_n) if ia_n > 1 else 0.0,
            "volume": _fin(volume),
            "notional": _fin(self.notional),
            "buy_volume": _fin(self.buy_volume),
            "sell_volume": _fin(self.sell_volume),
            "mean_fill_size": _fin(volume / fills) if fills else 0.0,
            "trade_count": fills,
            "aggressor_fills": self.aggressor_fills,
            "maker_fills": self.maker_fills,
            "aggressor_share": _fin(self.aggressor_fills / fills) if fills else 0.0,
            "self_trades": self.self_trades,
            "unsigned_fills": self.unsigned_fills,
            "net_position": _fin(net_total),
            "net_position_share": net_share,
            "end_inventory_share": end_share,
            "inventory_rms_share": rms_share,
            "inventory_max_share": max_share,
            "inventory_crossing_rate": _fin(crossings / fills) if fills else 0.0,
            "inventory_by_market": {k: net for _, k, net in traded[:TOP_MARKETS]},
            "markets_active": len(markets) - (OVERFLOW_MARKET in markets),
            "markets_traded": len(traded),
            "markets_overflow_events": self.overflow_events,
            "active_days": self.active_days,
            "notional_per_day": _fin(self.notional / max(self.active_days, 1)),
            "active_span_s": _fin(span_s),
            "trades_per_hour": _fin(fills / hours),
            "messages_per_hour": _fin((placements + self.cancels + self.amends) / hours),
            "hour_histogram": self.hour_histogram(),
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "out_of_order": self.out_of_order,
        }
        gas = self.gas
        if gas is not None and gas.n:
            out.update(gas_price_count=gas.n, gas_price_mean=_fin(gas.mean),
                       gas_price_var=_fin(gas.variance), gas_price_min=_fin(gas.lo),
                       gas_price_max=_fin(gas.hi))
        nonce = self.nonce
        if nonce is not None and nonce.n:
            out.update(nonce_count=nonce.n, nonce_min=int(nonce.lo),
                       nonce_max=int(nonce.hi), nonce_regressions=self.nonce_regressions)
        return out
