"""The seven built-in detectors, one module each."""

from __future__ import annotations

from .spoofing import SpoofingConfig, SpoofingDetector

__all__ = ["SpoofingConfig", "SpoofingDetector"]
