"""Turning "how far past the thresholds" into confidence and severity.

Every detector describes a finding by its *margins*: for each threshold the
ratio by which the evidence exceeds it (1.0 = exactly at the threshold,
2.0 = twice what was required; for at-most thresholds such as "cancelled
within 2 s" the ratio is required/observed). Confidence is a saturating
function of the geometric mean of those margins, so it rises with every
margin, starts at ``BASE`` for a case that only just passes and never
reaches 1. Findings from anonymous venues (no actor identity, the pattern
inferred from book and tape alone) are scaled down by ``ANONYMOUS_FACTOR``.

Severity follows confidence with fixed cut points, so one calibration serves
every detector and an alert floor of ``high`` means the same thing everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

#: Confidence of a case exactly at every threshold.
BASE: Final = 0.55
#: Upper bound approached as the margins grow.
CEILING: Final = 0.98
#: Mean log-margin at which confidence has covered 63% of the way to CEILING
#: (log 2: "everything twice past its threshold").
SCALE: Final = math.log(2.0)
#: Multiplier for findings inferred without actor identity.
ANONYMOUS_FACTOR: Final = 0.75
#: Cap on a single margin, so one huge ratio cannot stand in for the others.
MAX_MARGIN: Final = 10.0

#: (lowest confidence, severity), highest first.
SEVERITY_CUTS: Final[tuple[tuple[float, str], ...]] = (
    (0.9, "critical"),
    (0.75, "high"),
    (0.62, "medium"),
    (0.0, "low"),
)


def margin(value: float, required: float, *, at_most: bool = False) -> float:
    """How far ``value`` is past ``required``: >= 1 when the threshold is met.

    ``at_most``: the threshold is an upper bound (value must be <= required).
    """
    if at_most:
        if value <= 0:
            return MAX_MARGIN if required > 0 else 1.0
        return min(required / value, MAX_MARGIN)
    if required <= 0:
        return 1.0 if value <= 0 else MAX_MARGIN
    return min(value / required, MAX_MARGIN)


def confidence(margins: Sequence[float], *, anonymous: bool = False) -> float:
    """Confidence in [BASE, CEILING) (scaled down when anonymous), rounded to 4 places.

    Non-decreasing in every margin; margins below 1 count as 1 (a finding is
    only made once every threshold is met).
    """
    if not margins:
        score = 0.0
    else:
        score = sum(math.log(min(max(m, 1.0), MAX_MARGIN)) for m in margins) / len(margins)
    c = BASE + (CEILING - BASE) * (1.0 - math.exp(-score / SCALE))
    if anonymous:
        c *= ANONYMOUS_FACTOR
    return round(c, 4)


def severity(conf: float, *, floor: str = "low", cap: str = "critical") -> str:
    """Severity for a confidence, clamped to ``[floor, cap]``."""
    order = ("low", "medium", "high", "critical")
    sev = "low"
    for cut, name in SEVERITY_CUTS:
        if conf >= cut:
            sev = name
            break
    rank = min(max(order.index(sev), order.index(floor)), order.index(cap))
    return order[rank]
