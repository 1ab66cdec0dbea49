"""Loading ``flow.toml``: parse, split plugin sections off, structure, report errors.

The file is read with :mod:`tomllib`. The ``[plugins]`` table is read first
(it decides which plugins load), then every plugin-owned section is
structured into the class its plugin registered, then what remains into the
core's :class:`FlowConfig`. Every problem becomes a :class:`ConfigError`
naming the file, the key and what was expected, e.g.::

    flow.toml: detectors.spoofing.min_bait_size: expected a number, got str 'big'
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from ..errors import ConfigError
from ..jsonio import canonical
from .model import FlowConfig, PluginsConfig

if TYPE_CHECKING:
    from ..plugin_manager import PluginManager

_CORE_PLUGIN_KEYS = ("detectors", "venues")


# --------------------------------------------------------------------------- converter


def _strict_int(value: Any, _: type) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {_describe(value)}")
    return value


def _strict_float(value: Any, _: type) -> float:
    if type(value) not in (int, float):
        raise TypeError(f"expected a number, got {_describe(value)}")
    return float(value)


def _strict_str(value: Any, _: type) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {_describe(value)}")
    return value


def _strict_bool(value: Any, _: type) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected true or false, got {_describe(value)}")
    return value


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def make_converter() -> cattrs.Converter:
    """The strict converter for config: no silent coercion, no unknown keys."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(bool, _strict_bool)
    return conv


CONVERTER = make_converter()


def _flatten(exc: BaseException, path: str) -> Iterable[tuple[str, str]]:
    """(dotted key, message) for every leaf error of a cattrs structuring failure."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        for sub in exc.exceptions:
            sub_path = path
            for note in getattr(sub, "__notes__", []):
                name = getattr(note, "name", None)
                index = getattr(note, "index", None)
                if name is not None:
                    sub_path = f"{path}.{name}" if path else str(name)
                elif index is not None:
                    sub_path = f"{path}[{index}]"
            yield from _flatten(sub, sub_path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            full = f"{path}.{key}" if path else key
            yield full, "unknown key"
    elif isinstance(exc, KeyError):
        yield path, "required key missing"
    else:
        yield path, str(exc) or type(exc).__name__


def structure_section(data: Any, cls: type, *, source: str, path: str) -> Any:
    """Structure one table into ``cls`` or raise a ConfigError naming ``source`` and ``path``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {path}: expected a table, got {_describe(data)}")
    try:
        return CONVERTER.structure(data, cls)
    except Exception as exc:  # cattrs wraps everything; unwrap to leaf messages
        problems = list(_flatten(exc, path))
        if not problems:
            problems = [(path, str(exc))]
        lines = [f"{source}: {key or path}: {msg}" for key, msg in problems]
        raise ConfigError("; ".join(lines)) from None


# --------------------------------------------------------------------------- loading


def read_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None


def plugins_table(raw: dict[str, Any], source: str) -> PluginsConfig:
    """The ``[plugins]`` table alone, read before any plugin is loaded."""
    table = raw.get("plugins", {})
    result: PluginsConfig = structure_section(table, PluginsConfig, source=source, path="plugins")
    return result


def load_config(path: str | Path | None, pm: PluginManager | None = None) -> FlowConfig:
    """Load and validate a config file (``None``: the defaults).

    ``pm`` supplies the plugins' config classes; without one the process's
    default plugin manager is built with the file's ``[plugins]`` lists.
    """
    if path is None:
        raw: dict[str, Any] = {}
        source = "<defaults>"
    else:
        raw = read_toml(path)
        source = str(path)
    if pm is None:
        from ..plugin_manager import get_plugin_manager

        pm = get_plugin_manager(plugins_table(raw, source))
    return parse_config(raw, source, pm)


def _match(pattern: str, path: str) -> bool:
    a, b = pattern.split("."), path.split(".")
    return len(a) == len(b) and all(x == "*" or x == y for x, y in zip(a, b, strict=True))


def _pop_path(raw: dict[str, Any], parts: list[str], prefix: str = ""
              ) -> list[tuple[str, Any]]:
    """Remove and return every (concrete path, table) under ``parts`` (``*`` = any key)."""
    head, rest = parts[0], parts[1:]
    keys = list(raw) if head == "*" else ([head] if head in raw else [])
    found: list[tuple[str, Any]] = []
    for key in sorted(keys):
        path = f"{prefix}{key}"
        if not rest:
            found.append((path, raw.pop(key)))
        elif isinstance(raw[key], dict):
            found.extend(_pop_path(raw[key], rest, path + "."))
            if not raw[key]:
                del raw[key]
    return found


def _market_overrides(sub: Any, cls: type, *, source: str, name: str
                      ) -> tuple[Any, dict[str, Any]]:
    """``[detectors.<name>]`` without its ``markets`` table, and each market's full config
    (the section with the market's keys over it), structured and checked like it."""
    if not isinstance(sub, dict) or "markets" not in sub or "markets" in attrs.fields_dict(cls):
        return sub, {}
    sub = dict(sub)
    markets = sub.pop("markets")
    path = f"detectors.{name}.markets"
    if not isinstance(markets, dict):
        raise ConfigError(f"{source}: {path}: expected a table of markets, "
                          f"got {_describe(markets)}")
    out: dict[str, Any] = {}
    for market in sorted(markets):
        table = markets[market]
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {path}.{market}: expected a table, "
                              f"got {_describe(table)}")
        out[market] = structure_section({**sub, **table}, cls, source=source,
                                        path=f"{path}.{market}")
    return sub, out


def parse_config(raw: dict[str, Any], source: str, pm: PluginManager | None) -> FlowConfig:
    data = _deep_copy(raw)
    detectors: dict[str, Any] = {}
    detector_markets: dict[str, dict[str, Any]] = {}
    venues: dict[str, Any] = {}
    sections: dict[str, Any] = {}

    det_classes: dict[str, type | None] = {}
    venue_classes: dict[str, type | None] = {}
    extra_sections: list[tuple[str, type]] = []
    if pm is not None:
        det_classes = {s.name: s.config_class for s in pm.detector_specs(check_conflicts=False)}
        venue_classes = {s.name: s.config_class for s in pm.venue_specs(check_conflicts=False)}
        extra_sections = [(s.path, s.config_class) for s in pm.config_sections()]

    for key, known, into in (("detectors", det_classes, detectors),
                             ("venues", venue_classes, venues)):
        table = data.pop(key, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {key}: expected a table, got {_describe(table)}")
        for name in sorted(table):
            if name not in known:
                installed = ", ".join(sorted(known)) or "none installed"
                raise ConfigError(f"{source}: {key}.{name}: no installed plugin provides "
                                  f"{key[:-1]} {name!r} (installed: {installed})")
        for name, cls in sorted(known.items()):
            sub = table.get(name, {})
            if cls is None:
                if sub:
                    raise ConfigError(f"{source}: {key}.{name}: this {key[:-1]} takes no settings")
                into[name] = None
                continue
            if key == "detectors":
                sub, markets = _market_overrides(sub, cls, source=source, name=name)
                if markets:
                    detector_markets[name] = markets
            into[name] = structure_section(sub, cls, source=source, path=f"{key}.{name}")

    for pattern, cls in sorted(extra_sections, key=lambda t: t[0]):
        for path, table in _pop_path(data, pattern.split(".")):
            sections[path] = structure_section(table, cls, source=source, path=path)
        if "*" not in pattern and pattern not in sections:
            # a fixed section absent from the file: its defaults are in force
            sections[pattern] = structure_section({}, cls, source=source, path=pattern)

    core = attrs.fields_dict(FlowConfig)
    for key in sorted(data):
        if key not in core or key in ("detectors", "venues", "sections", "source"):
            raise ConfigError(f"{source}: {key}: unknown key (not a core setting and no "
                              "installed plugin registers it)")
    cfg: FlowConfig = structure_section(data, FlowConfig, source=source, path="")
    return attrs.evolve(cfg, detectors=detectors, detector_markets=detector_markets,
                        venues=venues, sections=sections, source=source)


def _deep_copy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deep_copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deep_copy(v) for v in d]
    return d


# --------------------------------------------------------------------------- output


def _unstructure(obj: Any) -> Any:
    if attrs.has(type(obj)):
        return {a.name: _unstructure(getattr(obj, a.name)) for a in attrs.fields(type(obj))
                if a.name != "source"}
    if isinstance(obj, dict):
        return {str(k): _unstructure(v) for k, v in sorted(obj.items())}
    if isinstance(obj, list | tuple | frozenset | set):
        items = [_unstructure(v) for v in obj]
        return sorted(items) if isinstance(obj, frozenset | set) else items
    return obj


def config_to_dict(cfg: FlowConfig) -> dict[str, Any]:
    """The effective config as plain data, plugin sections nested at their paths."""
    out: dict[str, Any] = _unstructure(cfg)
    sections = out.pop("sections", {})
    out["detectors"] = {k: v for k, v in out.get("detectors", {}).items() if v is not None}
    for name, markets in out.pop("detector_markets", {}).items():
        out["detectors"].setdefault(name, {})["markets"] = markets
    out["venues"] = {k: v for k, v in out.get("venues", {}).items() if v is not None}
    for path, table in sorted(sections.items()):
        node = out
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = table
    return out


def config_hash(cfg: FlowConfig) -> str:
    """SHA-256 of the canonical effective config: what a run records as 'config in force'."""
    return hashlib.sha256(canonical(config_to_dict(cfg))).hexdigest()


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if v is None:
        return '""'
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return _toml_value(str(v))


def render_toml(data: dict[str, Any]) -> str:
    """Render nested plain data as TOML (scalars first, then sub-tables)."""
    lines: list[str] = []

    def key(k: str) -> str:
        return k if k and all(c.isascii() and (c.isalnum() or c in "_-") for c in k) \
            else _toml_value(k)

    def emit(table: dict[str, Any], prefix: str) -> None:
        # None has no TOML form: an unset optional value is left out (it is the default)
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and v is not None}
        if prefix and (scalars or not table):
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{key(k)} = {_toml_value(v)}")
        if scalars:
            lines.append("")
        for k, v in table.items():
            if isinstance(v, dict):
                emit(v, f"{prefix}.{key(k)}" if prefix else key(k))

    emit(data, "")
    return "\n".join(lines).rstrip() + "\n"
