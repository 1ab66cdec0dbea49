"""``[alerts.routes.<name>]``: one alert route, as cattrs structures it from TOML.

Example::

    [alerts]
    severity_floor = "high"            # core field: nothing below it is routed

    [alerts.routes.desk]
    url_env = "DESK_SLACK_URL"         # the NAME of an env var holding apprise URL(s)
    categories = ["spoofing", "layering", "momentum_ignition", "quote_stuffing"]
    windows = ["13:00-21:00"]
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    timezone = "America/New_York"

    [alerts.routes.pager]
    url_env = ["PAGERDUTY_URL"]
    severity_min = "critical"
    categories = ["*"]                 # every finding and every operational event

Secrets never live in the file: ``url_env`` names environment variables; a
value that looks like a URL is rejected (without echoing it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs

from horizon_flow_core.findings import SEVERITY_RANK

from .content import DEFAULT_BODY, DEFAULT_TITLE, check_template
from .schedule import parse_timezone, parse_weekday, parse_window

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _names(value: Any) -> tuple[str, ...]:
    """A single string or a list of strings -> tuple of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    raise TypeError(f"expected a string or a list of strings, got {type(value).__name__}")


def _strings(instance: Any, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
    for v in value:
        if not isinstance(v, str):
            raise TypeError(f"{attribute.name}: expected strings, got {type(v).__name__}")
    # cattrs turns a bare string into a tuple of its characters; say so plainly.
    if len(value) > 1 and all(len(v) == 1 for v in value):
        raise ValueError(f"{attribute.name}: expected a list of names, got what looks like one "
                         f"string split into characters; write {attribute.name} = [\"...\"]")


def _url_env(instance: Any, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
    for v in value:
        if not isinstance(v, str):
            raise TypeError(f"url_env: expected environment variable names, got "
                            f"{type(v).__name__}")
        if "://" in v:
            # Never echo the value: it is a secret someone put in the config file.
            raise ValueError("url_env: a value looks like a URL; put the apprise URL in an "
                             "environment variable and name that variable here "
                             "(secrets never go in the config file)")
        if not _ENV_NAME.match(v):
            raise ValueError(f"url_env: {v!r} is not an environment variable name "
                             "(letters, digits and _, not starting with a digit)")


def _severity(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in SEVERITY_RANK:
        raise ValueError(f"{attribute.name}: {value!r} is not one of low, medium, high, critical")


def _windows(instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    _strings(instance, attribute, value)
    for w in value:
        try:
            parse_window(w)
        except ValueError as e:
            raise ValueError(f"windows: {e}") from None


def _weekdays(instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    _strings(instance, attribute, value)
    for d in value:
        try:
            parse_weekday(d)
        except ValueError as e:
            raise ValueError(f"weekdays: {e}") from None


def _timezone(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        parse_timezone(value)
    except ValueError as e:
        raise ValueError(f"timezone: {e}") from None


def _template(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        check_template(value)
    except ValueError as e:
        raise ValueError(f"{attribute.name}: {e}") from None


def _in_range(lo: float, hi: float) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
        if not lo <= value <= hi:
            raise ValueError(f"{attribute.name}: {value} is out of range [{lo}, {hi}]")
    return check


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@attrs.frozen
class RouteConfig:
    """One route. Every field has a default; see the module docstring for an example.

    Fields:
      url_env: env var name(s) holding apprise URL(s) (one var may hold several,
        separated by commas or spaces).
      categories: finding categories (glob patterns allowed). Empty: every finding
        category, no operational event; operational events (``feed.gap``,
        ``feed.stale``, ``component.quarantined``, ``component.error``,
        ``audit.chain_failed``, ``store.error``) are routed only when listed
        (``"feed.*"`` or ``"*"`` work too).
      severity_min, confidence_min, venues, markets: more filters (empty = all).
        Findings must also reach the global ``[alerts] severity_floor``.
      windows, weekdays, timezone: when the route is open (empty = always).
      title_template, body_template: ``str.format`` over the alert's fields.
      dedupe_window_s: same actor, market and category within this many seconds
        is folded into the next alert ("+N similar since ..."); 0 disables.
      rate_limit, rate_window_s: at most ``rate_limit`` alerts per window (0 =
        unlimited); what is held back goes out as one digest when the window
        reopens and at shutdown (``digest = false`` drops it, counted).
      escalate_after, escalate_severity, escalate_window_s: the Nth finding of at
        least ``escalate_severity`` on one actor within the window goes out as
        critical (0 disables).
      retries, backoff_s, backoff_max_s: delivery attempts after the first, with
        exponential backoff; then the alert is dead-lettered.
      send_timeout_s: budget for one delivery attempt.
      queue_size: alerts waiting for delivery; beyond it they are dead-lettered.
    """

    # typed Any so that cattrs hands a bare string through whole (a tuple type would
    # split "DESK_URL" into characters); the converter makes it a tuple of names
    url_env: Any = attrs.field(default=(), converter=_names, validator=_url_env)
    enabled: bool = True
    categories: tuple[str, ...] = attrs.field(default=(), converter=_names,
                                              validator=_strings)
    severity_min: str = attrs.field(default="low", converter=_lower, validator=_severity)
    confidence_min: float = attrs.field(default=0.0, converter=float,
                                        validator=_in_range(0.0, 1.0))
    venues: tuple[str, ...] = attrs.field(default=(), converter=_names, validator=_strings)
    markets: tuple[str, ...] = attrs.field(default=(), converter=_names, validator=_strings)
    windows: tuple[str, ...] = attrs.field(default=(), converter=_names, validator=_windows)
    weekdays: tuple[str, ...] = attrs.field(default=(), converter=_names, validator=_weekdays)
    timezone: str = attrs.field(default="UTC", validator=_timezone)
    title_template: str = attrs.field(default=DEFAULT_TITLE, validator=_template)
    body_template: str = attrs.field(default=DEFAULT_BODY, validator=_template)
    dedupe_window_s: float = attrs.field(default=600.0, converter=float,
                                         validator=_in_range(0.0, 7 * 86400.0))
    rate_limit: int = attrs.field(default=30, validator=_in_range(0, 1_000_000))
    rate_window_s: float = attrs.field(default=3600.0, converter=float,
                                       validator=_in_range(1.0, 7 * 86400.0))
    digest: bool = True
    digest_max_items: int = attrs.field(default=20, validator=_in_range(1, 1000))
    escalate_after: int = attrs.field(default=3, validator=_in_range(0, 1000))
    escalate_severity: str = attrs.field(default="high", converter=_lower, validator=_severity)
    escalate_window_s: float = attrs.field(default=3600.0, converter=float,
                                           validator=_in_range(1.0, 30 * 86400.0))
    retries: int = attrs.field(default=3, validator=_in_range(0, 20))
    backoff_s: float = attrs.field(default=1.0, converter=float,
                                   validator=_in_range(0.0, 3600.0))
    backoff_max_s: float = attrs.field(default=60.0, converter=float,
                                       validator=_in_range(0.0, 86400.0))
    send_timeout_s: float = attrs.field(default=30.0, converter=float,
                                        validator=_in_range(0.1, 600.0))
    queue_size: int = attrs.field(default=1000, validator=_in_range(1, 1_000_000))

    def problems(self) -> list[str]:
        """Things that are legal in a file but leave the route unable to deliver."""
        out = []
        if not self.url_env:
            out.append("url_env is empty: the route has nowhere to deliver")
        return out


def route_configs(section: Any) -> dict[str, RouteConfig]:
    """Normalise what ``config.section("alerts.routes")`` gave: structured
    ``RouteConfig`` instances pass through, plain tables (a loader that did not
    structure them) are built here. Sorted by route name."""
    if not section:
        return {}
    out: dict[str, RouteConfig] = {}
    for name in sorted(section):
        value = section[name]
        if isinstance(value, RouteConfig):
            out[name] = value
        elif isinstance(value, dict):
            out[name] = structure_route(name, value)
        else:
            raise TypeError(f"alerts.routes.{name}: expected a table, got {type(value).__name__}")
    return out


def structure_route(name: str, table: dict[str, Any]) -> RouteConfig:
    """A ``RouteConfig`` from a plain TOML table; ValueError naming the key on any problem."""
    known = {a.name for a in attrs.fields(RouteConfig)}
    for key in sorted(table):
        if key not in known:
            hint = " (URLs come from environment variables named in url_env)" \
                if key in ("url", "urls") else ""
            raise ValueError(f"alerts.routes.{name}: unknown key {key!r}{hint}")
    for a in attrs.fields(RouteConfig):
        if a.name in table:
            problem = _type_problem(a.default, table[a.name])
            if problem:
                raise ValueError(f"alerts.routes.{name}.{a.name}: expected {problem}, got "
                                 f"{type(table[a.name]).__name__}")
    try:
        return RouteConfig(**table)
    except (TypeError, ValueError) as e:
        raise ValueError(f"alerts.routes.{name}.{e}") from None


def _type_problem(default: Any, value: Any) -> str | None:
    """What type a key wants, when ``value`` is not it (judged from the default)."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "an integer"
    if isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(default, tuple):
        return None if isinstance(value, str | list | tuple) else "a string or a list of strings"
    return None
