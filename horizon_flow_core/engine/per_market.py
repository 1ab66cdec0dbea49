"""Per-market thresholds: one detector instance per market that overrides its config.

Sizes mean different things in different markets: 500 is a large order in a
prediction market's contracts and an absurd one in BTC, and one Hyperliquid
feed carries both BTC (sizes of 0.001 to 5) and DOGE (sizes in the
thousands). ``[detectors.<name>.markets."<market_id>"]`` tables override any
of a detector's settings for one market; the engine then runs one instance
per such market beside the default one, and this router hands each event to
the instance of its market. Detectors need not know: any detector plugin
whose config is an attrs class gets the feature.

Only detectors with overrides are wrapped, so the others pay nothing; a
wrapped one pays one dictionary lookup and one call per event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class PerMarketDetector:
    """Routes each event to the detector instance of its market (the default one elsewhere)."""

    def __init__(self, default: Any, by_market: Mapping[str, Any]) -> None:
        self.default = default
        # sorted: finish() and near-misses visit instances in one order everywhere
        self.by_market = dict(sorted(by_market.items()))
        self.name = default.name
        kinds = getattr(default, "kinds", None)
        if kinds is not None:
            for det in self.by_market.values():
                more = getattr(det, "kinds", None)
                kinds = None if more is None else frozenset(kinds) | frozenset(more)
                if kinds is None:
                    break
        self.kinds = kinds
        self._get = self.by_market.get

    def __getattr__(self, name: str) -> Any:
        # category, citation, config and whatever else a detector offers: the default's
        default = self.__dict__.get("default")
        if default is None:  # not built yet (copy, pickle)
            raise AttributeError(name)
        return getattr(default, name)

    def instances(self) -> list[tuple[str | None, Any]]:
        """``(market or None for the default, instance)``, default first."""
        return [(None, self.default), *self.by_market.items()]

    def on_event(self, ev: Any, ctx: Any) -> Any:
        return self._get(ev.market_id, self.default).on_event(ev, ctx)

    def finish(self, ctx: Any = None) -> list[Any]:
        out: list[Any] = []
        for _, det in self.instances():
            fn = getattr(det, "finish", None)
            if fn is not None:
                out.extend(fn(ctx) or ())
        return out

    def evict_idle(self, before_ts: int) -> None:
        for _, det in self.instances():
            fn = getattr(det, "evict_idle", None)
            if fn is not None:
                fn(before_ts)

    def near_misses(self) -> list[dict[str, Any]]:
        """Every instance's near-misses, closest first (ties in instance order)."""
        out: list[dict[str, Any]] = []
        for _, det in self.instances():
            fn = getattr(det, "near_misses", None)
            if fn is not None:
                out.extend(fn() or ())
        out.sort(key=lambda m: -float(m.get("closeness", 0.0)))
        return out


def make_detector(factory: Callable[[Any], Any], config: Any,
                  market_configs: Mapping[str, Any] | None) -> Any:
    """``factory(config)``, or a :class:`PerMarketDetector` over it and one instance per
    market of ``market_configs`` (market id -> that market's full config)."""
    default = factory(config)
    if not market_configs:
        return default
    return PerMarketDetector(default, {m: factory(c) for m, c in market_configs.items()})
