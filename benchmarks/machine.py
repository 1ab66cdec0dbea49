"""What the figures were measured on: CPU, cores, Python, and how busy the machine was."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    return {"cpu": cpu_model(), "nproc": os.cpu_count(), "python": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "platform": platform.platform(terse=True), "load_average": load_average()}
