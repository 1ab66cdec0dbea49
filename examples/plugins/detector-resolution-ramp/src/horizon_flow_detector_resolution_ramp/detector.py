"""The resolution-ramp detector: marking the close, adapted to event contracts.

An event contract settles on what happens in the world, but its last traded
price before close is what the market shows: the headline odds, the mark for
positions, sometimes the reference for related contracts. Pushing it in the
last minutes, against where it had been heading, with aggressive orders is
the prediction-market form of marking the close.

For a market whose close (or resolution) time is known, the detector
compares, on each print inside ``window_s`` before the close:

* the **prior trend**: over ``trend_s`` before the window, the median price
  of its last few prints minus the median of its first few;
* the **late move**: the current price minus that pre-window price;
* the **aggressive share**: the share of window volume whose aggressor
  traded in the move's direction (buys for a move up);
* the **actor**: whoever supplied most of that aggressive volume, from
  aggressive fills that carry an ``actor_id``.

It fires once per market and close when the prior trend is not flat, the
late move goes against it by at least ``min_price_move``, the window saw at
least ``min_window_volume`` and the aggressive share is at least
``min_aggressive_share``. When the close becomes known only after it
passed (an event carrying ``resolved_ts``), the window is judged then, as of
the close.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from horizon_flow_core import AnomalyFinding, DetectorContext, MarketEvent

from .closes import close_from_extra, parse_iso
from .config import ResolutionRampConfig
from .tape import Aggression, MarketTape, Print

NAME = "resolution_ramp"
CATEGORY = "marking_the_close"
CITATION = (
    "CEA s.4c(a)(5)(B), 7 U.S.C. 6c(a)(5)(B) (reckless disregard for the orderly execution "
    "of transactions during the closing period); 'marking/banging the close', CFTC v. Optiver "
    "US LLC, No. 08-cv-6560 (S.D.N.Y. 2008); EU MAR Art. 12(2)(b) and Delegated Regulation "
    "(EU) 2016/522 Annex II ('marking the close')"
)
_NS = 1_000_000_000
#: prints whose median gives the trend's start and end levels (fewer when the period is thin)
_LEVEL_PRINTS = 5


def _level(prints: Sequence[Print]) -> float:
    return float(statistics.median(p.price for p in prints))


def _r(x: float) -> float:
    return round(x, 6)


class ResolutionRampDetector:
    """Late aggressive ramps against the prior trend, minutes before close or resolution."""

    name = NAME
    # close times may ride on any event kind's extra, so every kind is wanted
    kinds: frozenset[str] | None = None

    def __init__(self, config: ResolutionRampConfig | None = None) -> None:
        # None when flow runs without a config file: the defaults apply
        self.config = cfg = config if config is not None else ResolutionRampConfig()
        self._window_ns = int(cfg.window_s * _NS)
        self._horizon_ns = int((cfg.window_s + cfg.trend_s) * _NS)
        self._configured = {m: parse_iso(t) for m, t in sorted(cfg.closes.items())}
        self._learned: dict[str, tuple[int, str]] = {}
        self._tapes: dict[str, MarketTape] = {}
        self._fired: set[tuple[str, int]] = set()
        # (market, close) judged after the fact: once, however many events repeat the close
        self._judged: set[tuple[str, int]] = set()
        # the trend period is over once its window opens: its prints, kept per close
        self._trends: dict[tuple[str, int], list[Print]] = {}

    # ------------------------------------------------------------------ state
    def close_of(self, market_id: str) -> tuple[int, str] | None:
        """``(close ns, source)`` of a market: the config's, else the latest an event gave."""
        ts = self._configured.get(market_id)
        if ts is not None:
            return ts, "config"
        return self._learned.get(market_id)

    def _tape(self, market_id: str) -> MarketTape:
        tape = self._tapes.get(market_id)
        if tape is None:
            tape = self._tapes[market_id] = MarketTape(self.config.max_prints_per_market)
        return tape

    def evict_idle(self, before_ts: int) -> None:
        for market in [m for m, t in self._tapes.items() if t.last_ts < before_ts]:
            del self._tapes[market]
        for market in [m for m, (ts, _) in self._learned.items() if ts < before_ts]:
            del self._learned[market]
        self._fired = {(m, ts) for m, ts in self._fired if ts >= before_ts}
        self._judged = {(m, ts) for m, ts in self._judged if ts >= before_ts}
        self._trends = {k: v for k, v in self._trends.items() if k[1] >= before_ts}

    # ------------------------------------------------------------------ events
    def on_event(self, event: MarketEvent, ctx: DetectorContext) -> list[AnomalyFinding] | None:
        market = event.market_id
        out: list[AnomalyFinding] | None = None
        if event.extra and self.config.learn_closes_from_events:
            out = self._learn_close(market, event)
        kind = event.kind
        if kind == "trade.tape" or kind == "order.filled":
            found = self._observe_trade(market, event)
            if found is not None:
                out = [*(out or ()), found]
        return out

    def _learn_close(self, market: str, event: MarketEvent) -> list[AnomalyFinding] | None:
        found = close_from_extra(event.extra)
        if found is None or market in self._configured:
            return None
        close_ts, key = found
        self._learned[market] = (close_ts, f"event:{key}")
        if close_ts <= event.ts and (market, close_ts) not in self._judged:
            # the close is already behind us (a resolution notice): judge its window now
            self._judged.add((market, close_ts))
            f = self._evaluate(market, close_ts, f"event:{key}", as_of=close_ts)
            return [f] if f is not None else None
        return None

    def _observe_trade(self, market: str, ev: MarketEvent) -> AnomalyFinding | None:
        price, size = ev.price, ev.size
        if price is None or size is None or size <= 0 or not 0.0 <= price <= 1.0:
            return None  # not a probability-priced print: not an event contract
        tape = self._tape(market)
        if ev.kind == "trade.tape":
            tape.add_print(Print(ev.ts, price, size, ev.side), self._horizon_ns)
        else:
            if ev.aggressor is not True or ev.side is None:
                return None
            if ev.actor_id is not None:
                tape.add_fill(Aggression(ev.ts, ev.actor_id, ev.side, size), self._horizon_ns)
            if tape.tape_seen:
                return None  # the tape print of this execution follows
            tape.add_print(Print(ev.ts, price, size, ev.side, from_fill=True), self._horizon_ns)
        close = self.close_of(market)
        if close is None:
            return None
        close_ts, source = close
        if not close_ts - self._window_ns < ev.ts <= close_ts:
            return None
        return self._evaluate(market, close_ts, source, as_of=ev.ts)

    # ------------------------------------------------------------------ the test
    def _evaluate(self, market: str, close_ts: int, source: str, *, as_of: int
                  ) -> AnomalyFinding | None:
        if (market, close_ts) in self._fired:
            return None
        tape = self._tapes.get(market)
        if tape is None:
            return None
        cfg = self.config
        window_start = close_ts - self._window_ns
        trend_start = window_start - int(cfg.trend_s * _NS)
        trend = self._trends.get((market, close_ts))
        if trend is None:
            trend = [p for p in tape.prints if trend_start <= p.ts < window_start]
            self._trends[(market, close_ts)] = trend
        window = []
        for p in reversed(tape.prints):  # newest first: stop at the window's start
            if p.ts < window_start:
                break
            if p.ts <= as_of:
                window.append(p)
        window.reverse()
        if len(trend) < cfg.min_trend_prints or len(window) < cfg.min_window_prints:
            return None
        k = max(1, min(_LEVEL_PRINTS, len(trend) // 3))
        trend_from, reference = _level(trend[:k]), _level(trend[-k:])
        prior = reference - trend_from
        if abs(prior) < cfg.min_prior_trend:
            return None
        last = window[-1].price
        move = last - reference
        if abs(move) < cfg.min_price_move or (move > 0) == (prior > 0):
            return None
        side = "buy" if move > 0 else "sell"
        volume = sum(p.size for p in window)
        if volume < cfg.min_window_volume:
            return None
        aggressive = sum(p.size for p in window if p.side == side)
        share = aggressive / volume
        if share < cfg.min_aggressive_share:
            return None
        self._fired.add((market, close_ts))
        actors = self._actors(tape.fills, side, window_start, as_of)
        return self._finding(market, close_ts, source, as_of, trend, window, k, trend_from,
                             reference, last, side, volume, aggressive, actors)

    @staticmethod
    def _actors(fills: Iterable[Aggression], side: str, start: int, end: int
                ) -> list[tuple[str, float]]:
        by_actor: dict[str, float] = {}
        for a in fills:
            if start <= a.ts <= end and a.side == side:
                by_actor[a.actor] = by_actor.get(a.actor, 0.0) + a.size
        return sorted(by_actor.items(), key=lambda kv: (-kv[1], kv[0]))

    def _finding(self, market: str, close_ts: int, source: str, as_of: int,
                 trend: list[Print], window: list[Print], k: int, trend_from: float,
                 reference: float, last: float, side: str, volume: float, aggressive: float,
                 actors: list[tuple[str, float]]) -> AnomalyFinding:
        cfg = self.config
        prior, move = reference - trend_from, last - reference
        share = aggressive / volume
        actor, actor_share = None, 0.0
        if actors and aggressive > 0:
            top, top_volume = actors[0]
            actor_share = min(1.0, top_volume / aggressive)
            if actor_share >= cfg.min_actor_share:
                actor = top
        minutes = (close_ts - as_of) / 60e9
        strong = abs(move) >= 2 * cfg.min_price_move and share >= 0.8
        confidence = (0.5
                      + 0.25 * min(1.0, (share - cfg.min_aggressive_share)
                                   / max(1e-9, 1.0 - cfg.min_aggressive_share))
                      + 0.15 * min(1.0, abs(move) / cfg.min_price_move - 1.0)
                      + (0.09 if actor is not None else 0.0))
        direction = "up" if move > 0 else "down"
        who = f"; {actor} supplied {actor_share:.0%} of it" if actor is not None else ""
        message = (f"price ramped {direction} {reference:.3f} -> {last:.3f} ({move:+.3f}) "
                   f"{minutes:.1f} min before close, against a {prior:+.3f} prior trend; "
                   f"{share:.0%} of {volume:g} contracts aggressed {direction}{who}")
        evidence = {
            "close_ts": close_ts,
            "close_source": source,
            "as_of_ts": as_of,
            "minutes_to_close": _r(minutes),
            "window_s": cfg.window_s,
            "prior_trend": {"from_price": _r(trend_from), "to_price": _r(reference),
                            "change": _r(prior), "prints": len(trend), "level_prints": k,
                            "start_ts": trend[0].ts, "end_ts": trend[-1].ts},
            "ramp": {"from_price": _r(reference), "to_price": _r(last), "move": _r(move),
                     "direction": direction, "prints": len(window), "volume": _r(volume),
                     "aggressive_volume": _r(aggressive), "aggressive_side": side,
                     "aggressive_share": _r(share), "start_ts": window[0].ts,
                     "end_ts": window[-1].ts},
            "reversal_ratio": _r(abs(move) / abs(prior)),
            "actor": actor,
            "actor_share": _r(actor_share),
            "top_actors": [[a, _r(v)] for a, v in actors[:3]],
        }
        return AnomalyFinding.make(
            detector=NAME, category=CATEGORY, severity="high" if strong else "medium",
            confidence=round(min(0.99, confidence), 3), market_id=market, actor_id=actor,
            message=message, citation=CITATION, evidence=evidence)
