"""Plugin names: validation and every name derived from one (distribution, package, classes).

One rule for all kinds keeps names predictable across a firm's private index:
``flow plugins new detector late-ramp`` gives the distribution
``horizon-flow-detector-late-ramp``, the import package
``horizon_flow_detector_late_ramp``, the component ``late_ramp`` and the
folder ``detector-late-ramp``.
"""

from __future__ import annotations

import keyword
import re

import attrs

from ..errors import FlowError
from ..version import __version__

KINDS: tuple[str, ...] = ("detector", "venue", "store", "alert")

#: lower-case words of letters and digits joined by single hyphens, starting with a letter
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
MAX_NAME_LENGTH = 24

#: alert routers own ``[alerts.<name>]``: these would shadow the core's own alert keys
#: or the apprise routes table
RESERVED: dict[str, frozenset[str]] = {
    "alert": frozenset({"routes", "severity_floor", "confidence_floor"}),
}


class ScaffoldError(FlowError):
    """A plugin cannot be scaffolded: bad kind or name, or the folder exists."""


@attrs.frozen
class PluginNames:
    """Every name a scaffolded plugin uses, derived from its kind and short name."""

    kind: str
    name: str  # as given: late-ramp
    dist: str  # horizon-flow-detector-late-ramp
    package: str  # horizon_flow_detector_late_ramp
    component: str  # late_ramp: detector/venue/store/router name and config key
    class_prefix: str  # LateRamp
    folder: str  # detector-late-ramp
    entry_point: str  # late-ramp
    test_module: str  # test_detector_late_ramp (unique across a repository of plugins)
    core_requirement: str  # horizon-flow>=0.1,<0.2

    def as_template_vars(self) -> dict[str, str]:
        return {k: str(v) for k, v in attrs.asdict(self).items()}


def core_requirement(version: str = __version__) -> str:
    """The core range a new plugin should declare: the running core's minor series.

    Before 1.0 a minor release may change the plugin API, so ``0.1.x`` gives
    ``horizon-flow>=0.1,<0.2``; from 1.0 on, the major series.
    """
    parts = [int(p) for p in re.findall(r"\d+", version)[:2]] + [0, 0]
    major, minor = parts[0], parts[1]
    if major == 0:
        return f"horizon-flow>={major}.{minor},<{major}.{minor + 1}"
    return f"horizon-flow>={major}.{minor},<{major + 1}"


def validate_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ScaffoldError(f"unknown plugin kind {kind!r}: expected one of {', '.join(KINDS)}")
    return kind


def validate_name(name: str) -> str:
    if not _NAME.match(name) or len(name) > MAX_NAME_LENGTH:
        hint = ""
        lowered = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        if lowered and lowered != name and _NAME.match(lowered):
            hint = f"; did you mean {lowered!r}?"
        raise ScaffoldError(
            f"bad plugin name {name!r}: use 1-{MAX_NAME_LENGTH} lower-case letters, digits and "
            f"single hyphens, starting with a letter (e.g. 'late-ramp'){hint}")
    if keyword.iskeyword(name.replace("-", "_")):
        raise ScaffoldError(f"bad plugin name {name!r}: it is a Python keyword")
    return name


def plugin_names(kind: str, name: str) -> PluginNames:
    validate_kind(kind)
    validate_name(name)
    under = name.replace("-", "_")
    if under in RESERVED.get(kind, ()):
        raise ScaffoldError(f"bad plugin name {name!r}: [alerts.{under}] is taken by the core "
                            "or another plugin; choose another name")
    return PluginNames(
        kind=kind,
        name=name,
        dist=f"horizon-flow-{kind}-{name}",
        package=f"horizon_flow_{kind}_{under}",
        component=under,
        class_prefix="".join(part.capitalize() for part in name.split("-")),
        folder=f"{kind}-{name}",
        entry_point=name,
        test_module=f"test_{kind}_{under}",
        core_requirement=core_requirement(),
    )
