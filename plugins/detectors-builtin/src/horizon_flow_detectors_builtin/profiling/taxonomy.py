"""The Kirilenko taxonomy: soft class probabilities from an actor's features.

Kirilenko, Kyle, Samadi and Tuzun, "The Flash Crash: High-Frequency Trading
in an Electronic Market" (Journal of Finance 72(3), 2017), section II.B sort
E-mini traders into six classes by rules on their daily volume and inventory:

* intermediaries (market makers and HFTs) end the day with a net position
  within a few percent of their volume, and their intraday inventory stays
  close to that end-of-day level (it mean-reverts tightly);
* fundamental buyers and sellers end with a net position of at least 15% of
  their volume, the sign saying which;
* small traders trade little (at most 9 contracts a day in the paper);
* HFTs are the most active intermediaries (the paper: the top by number of
  trades); every other intermediary is a market maker;
* opportunistic traders are everyone else.

The paper's thresholds are in E-mini contracts. Prediction-market shares and
crypto perps have no common contract, so the volume and activity thresholds
here are in notional (price times size, i.e. USD for these venues) per active
day and in trades per hour, all in :class:`TaxonomyConfig`.

Each rule becomes a logistic score (how far past its threshold the actor is,
in units of a width), the scores combine into six weights, and the weights are
normalized. The result is deterministic, JSON-safe and sums to 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from horizon_flow_core.profiles import TAXONOMY_CLASSES

HIGH_FREQUENCY: Final = "high_frequency"
MARKET_MAKER: Final = "market_maker"
FUNDAMENTAL_BUYER: Final = "fundamental_buyer"
FUNDAMENTAL_SELLER: Final = "fundamental_seller"
OPPORTUNISTIC: Final = "opportunistic"
SMALL: Final = "small"

#: Probabilities are rounded to this many decimals so profiles stay short and
#: byte-stable; the largest class absorbs the rounding residue.
_DECIMALS: Final = 12

CITATION: Final = ("Kirilenko, Kyle, Samadi and Tuzun (2017), The Flash Crash: High-Frequency "
                   "Trading in an Electronic Market, J. Finance 72(3), sec. II.B")


def _positive(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive number, got {value!r}")


def _share(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, (int, float)) and 0.0 < value < 1.0):
        raise ValueError(f"{attribute.name} must be in (0, 1), got {value!r}")


@attrs.frozen
class TaxonomyConfig:
    """Thresholds of the taxonomy rules, rescaled to these venues.

    ``small_volume_notional``: notional traded per active UTC day below which
    an actor is a small trader (the paper's 9 E-mini contracts a day is about
    $500k; a small Polymarket or Hyperliquid account trades hundreds of
    dollars).
    ``directional_share``: end-of-period net position, as a share of volume,
    from which an actor is a fundamental buyer or seller (the paper's 15%).
    ``intermediary_inventory_share``: end-of-period |net position| / volume
    below which an actor ends flat like an intermediary (the paper's 5%).
    ``intermediary_swing_share``: root-mean-square distance of the intraday
    inventory from its end-of-period level, over volume, below which the
    inventory counts as tightly mean-reverting.
    ``hft_min_trades_per_hour``: executions per active hour from which an
    intermediary is a high-frequency trader rather than a market maker.
    ``min_activity_span_s``: floor of the activity span used for trades per
    hour, so two trades a second apart do not read as 7200 an hour.
    ``softness``: multiplies every rule's logistic width; larger gives softer
    probabilities, smaller gives near-hard labels.
    """

    small_volume_notional: float = attrs.field(default=1_000.0, validator=_positive)
    directional_share: float = attrs.field(default=0.15, validator=_share)
    intermediary_inventory_share: float = attrs.field(default=0.05, validator=_share)
    intermediary_swing_share: float = attrs.field(default=0.10, validator=_share)
    hft_min_trades_per_hour: float = attrs.field(default=300.0, validator=_positive)
    min_activity_span_s: float = attrs.field(default=600.0, validator=_positive)
    softness: float = attrs.field(default=1.0, validator=_positive)


_DEFAULT: Final = TaxonomyConfig()


def _sigmoid(x: float) -> float:
    # Clamped so exp never overflows; 60 is far past float resolution of 1.
    if x >= 60.0:
        return 1.0
    if x <= -60.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def _above(value: float, threshold: float, width: float) -> float:
    """Score in (0, 1): 0.5 at the threshold, towards 1 as ``value`` exceeds it."""
    return _sigmoid((value - threshold) / width)


def _log_above(value: float, threshold: float, width: float) -> float:
    """As :func:`_above` on a log scale, for quantities spanning decades (volume, rates)."""
    return _sigmoid((math.log(max(value, 1e-12)) - math.log(threshold)) / width)


def _num(features: Mapping[str, Any], key: str) -> float:
    value = features.get(key, 0.0)
    if type(value) is float and value - value == 0.0:
        return value  # the common case: a finite float (as below, without the checks)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if math.isfinite(value) else 0.0


def rule_scores(features: Mapping[str, Any], config: TaxonomyConfig | None = None
                ) -> dict[str, float]:
    """The per-rule scores in [0, 1], so a profile can show why it got its label.

    ``small``: trades little; ``ends_flat``: end inventory within the
    intermediary share; ``mean_reverting``: intraday inventory stays near its
    end level; ``intermediary``: both; ``directional``: net position past the
    directional share; ``net_buyer``: the sign of that position;
    ``active``: trades per hour past the HFT threshold.
    """
    cfg = config or _DEFAULT
    soft = cfg.softness
    end_share = _num(features, "end_inventory_share")
    swing_share = _num(features, "inventory_rms_share")
    net_share = _num(features, "net_position_share")
    per_day = _num(features, "notional_per_day")
    rate = _num(features, "trades_per_hour")

    small = 1.0 - _log_above(per_day, cfg.small_volume_notional, 0.5 * soft)
    ends_flat = 1.0 - _above(end_share, cfg.intermediary_inventory_share,
                             0.25 * cfg.intermediary_inventory_share * soft)
    mean_reverting = 1.0 - _above(swing_share, cfg.intermediary_swing_share,
                                  0.25 * cfg.intermediary_swing_share * soft)
    directional = _above(abs(net_share), cfg.directional_share,
                         0.2 * cfg.directional_share * soft)
    net_buyer = _sigmoid(net_share / (0.1 * cfg.directional_share * soft))
    active = _log_above(rate, cfg.hft_min_trades_per_hour, 0.5 * soft)
    return {
        "small": small,
        "ends_flat": ends_flat,
        "mean_reverting": mean_reverting,
        "intermediary": ends_flat * mean_reverting,
        "directional": directional,
        "net_buyer": net_buyer,
        "active": active,
    }


def normalize(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights over :data:`TAXONOMY_CLASSES` to probabilities summing to 1.0.

    Rounded to 12 decimals; the largest class (ties broken by class order)
    takes ``1 - sum(others)``, so the sum is 1.0 within 1e-15 and the bytes
    are the same on every machine.
    """
    # Runs for every profile snapshot: plain loops over the six classes, no
    # intermediate dicts or key functions; the arithmetic is unchanged.
    clean = []
    for c in TAXONOMY_CLASSES:
        w = max(0.0, float(weights.get(c, 0.0)))
        clean.append(w if math.isfinite(w) else 0.0)
    total = math.fsum(clean)
    if total <= 0.0:
        p = 1.0 / len(TAXONOMY_CLASSES)
        clean = [p] * len(TAXONOMY_CLASSES)
        total = 1.0
    probs = [round(w / total, _DECIMALS) for w in clean]
    # the largest; ties go to the class listed first
    top = 0
    for i in range(1, len(probs)):
        if probs[i] > probs[top]:
            top = i
    # Every value a multiple of 1e-12, so the decimal sum is exactly 1 and the
    # float sum is 1.0 within an ulp or two.
    probs[top] = round(1.0 - math.fsum(p for i, p in enumerate(probs) if i != top), _DECIMALS)
    if probs[top] < 0.0:  # cannot happen with non-negative weights; guard anyway
        probs[top] = 0.0
    return {c: p + 0.0 for c, p in zip(TAXONOMY_CLASSES, probs, strict=True)}


def classify_scores(scores: Mapping[str, float]) -> dict[str, float]:
    """Combine rule scores into the six class probabilities."""
    small = scores["small"]
    big = 1.0 - small
    inter = scores["intermediary"]
    directional = scores["directional"]
    buyer = scores["net_buyer"]
    active = scores["active"]
    weights = {
        HIGH_FREQUENCY: big * inter * active,
        MARKET_MAKER: big * inter * (1.0 - active),
        FUNDAMENTAL_BUYER: big * directional * buyer,
        FUNDAMENTAL_SELLER: big * directional * (1.0 - buyer),
        OPPORTUNISTIC: big * (1.0 - inter) * (1.0 - directional),
        SMALL: small,
    }
    return normalize(weights)


def classify(features: Mapping[str, Any], config: TaxonomyConfig | None = None
             ) -> dict[str, float]:
    """Probabilities over :data:`TAXONOMY_CLASSES` for one actor's features."""
    return classify_scores(rule_scores(features, config))


def top_class(probs: Mapping[str, float]) -> str:
    """The most probable class; ties go to the class listed first."""
    return max(TAXONOMY_CLASSES, key=lambda c: (probs.get(c, 0.0), -TAXONOMY_CLASSES.index(c)))
