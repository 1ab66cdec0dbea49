"""Entry point ``builtin-detectors``: registers the seven built-in detectors.

Each spec names the ``[detectors.<name>]`` config class; the factory gets the
structured section (or ``None``, then the class defaults apply). Priorities
keep the historical order of ``horizon.flow``'s default engine.
"""

from __future__ import annotations

from typing import Any

from horizon_flow_core.hookspecs import hookimpl
from horizon_flow_core.specs import DetectorSpec

from .detectors import (
    IcebergConfig,
    IcebergDetector,
    LayeringConfig,
    LayeringDetector,
    MomentumIgnitionConfig,
    MomentumIgnitionDetector,
    QuoteStuffingConfig,
    QuoteStuffingDetector,
    SplitOrderConfig,
    SplitOrderDetector,
    SpoofingConfig,
    SpoofingDetector,
    WashTradeConfig,
    WashTradeDetector,
)

HORIZON_FLOW_PLUGIN_API = 1

#: (detector class, config class, one-line description), in priority order.
BUILTIN_DETECTORS: tuple[tuple[Any, type, str], ...] = (
    (SpoofingDetector, SpoofingConfig,
     "large bait orders cancelled within seconds after an execution on the other side"),
    (LayeringDetector, LayeringConfig,
     "orders at successive levels on one side, cancelled after an execution on the other"),
    (QuoteStuffingDetector, QuoteStuffingConfig,
     "message bursts far above the sender's own baseline with almost no executions"),
    (WashTradeDetector, WashTradeConfig,
     "self-trades and closed wallet clusters trading back and forth"),
    (MomentumIgnitionDetector, MomentumIgnitionConfig,
     "an aggressive burst that moves the price, then trading the other way into it"),
    (IcebergDetector, IcebergConfig,
     "a level trading more than it shows while refilling to the same size"),
    (SplitOrderDetector, SplitOrderConfig,
     "a large parent order worked as many similar child orders on one side"),
)


def _factory(cls: Any) -> Any:
    return lambda cfg: cls(cfg)


@hookimpl
def flow_detectors() -> list[DetectorSpec]:
    return [
        DetectorSpec(name=cls.name, factory=_factory(cls), config_class=cfg_cls,
                     priority=10 * (i + 1), description=desc)
        for i, (cls, cfg_cls, desc) in enumerate(BUILTIN_DETECTORS)
    ]


def default_detectors() -> list[Any]:
    """One instance of each built-in detector with its default config, in priority order."""
    return [cls() for cls, _, _ in BUILTIN_DETECTORS]
