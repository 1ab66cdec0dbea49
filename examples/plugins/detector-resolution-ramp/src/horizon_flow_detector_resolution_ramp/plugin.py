"""Entry point of horizon-flow-detector-resolution-ramp: registers the detector."""

from __future__ import annotations

from horizon_flow_core import DetectorSpec, hookimpl

from .config import ResolutionRampConfig
from .detector import NAME, ResolutionRampDetector

HORIZON_FLOW_PLUGIN_API = 1


@hookimpl
def flow_detectors() -> list[DetectorSpec]:
    return [DetectorSpec(
        name=NAME, factory=ResolutionRampDetector, config_class=ResolutionRampConfig,
        description="marking the close on event contracts: a late aggressive ramp against "
                    "the prior trend, minutes before close or resolution")]
