"""Event builders compiled per key set ("shape") of the decoded JSON objects.

A feed log is written by one producer, so its lines come in a handful of
shapes (the keys of an ``order.placed``, of a ``book.delta``, ...). For each
shape seen, a builder is generated that reads exactly those keys and checks
exactly their types, in the order the generic path checks them, so the error
for a bad line is the one :func:`horizon_flow_core.events.event_from_dict`'s generic path
would report. The generic path reads and tests all twenty fields of every
line; a compiled builder does about half the work. The cache is bounded: a
feed with endless key sets falls back to the generic path once it is full.

The same technique as attrs' generated ``__init__``: source text compiled
once, then called per line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

#: Most distinct shapes kept; more go the generic way (a hostile feed cannot
#: grow memory without bound).
MAX_SHAPES: Final = 256

REQUIRED: Final = ("venue", "market_id", "kind", "ts")

# How each optional field of the schema is checked (by the names of the
# event module's helpers, passed in the namespace).
_FLOATS: Final = frozenset({"price", "size", "bid", "ask", "bid_size", "ask_size"})
_IDS: Final = frozenset({"actor_id", "counterparty_id", "order_id", "tx_hash"})
_LEVELS: Final = frozenset({"bids", "asks"})


def _field_check(name: str) -> list[str]:
    """Source lines that read ``d[name]`` into a local and check (or coerce) it."""
    read = f"    {name} = d[{name!r}]"
    if name == "seq":
        return [read, f"    if {name} is not None and type({name}) is not int:",
                "        raise _validate_slow(d)"]
    if name == "side":
        return [read, f"    if {name} is not None:", f"        {name} = _SIDES.get({name})",
                f"        if {name} is None:", "            raise _validate_slow(d)"]
    if name == "aggressor":
        return [read, f"    if {name} is not None and type({name}) is not bool:",
                "        raise _validate_slow(d)"]
    if name in _FLOATS:
        return [read, f"    if {name} is not None and type({name}) is not float:",
                f"        {name} = _num({name}, {name!r})"]
    if name in _IDS:
        return [read, f"    if {name} is not None and type({name}) is not str:",
                f"        {name} = _id({name}, {name!r})"]
    if name in _LEVELS:
        return [read, f"    if {name} is not None:", f"        {name} = _levels({name}, {name!r})"]
    if name == "extra":
        return [read, f"    if {name} is not None and type({name}) is not dict:",
                f"        raise _bad({name!r}, 'expected an object, got ' + type({name}).__name__)"]
    raise AssertionError(f"no check for field {name!r}")  # a schema field without a rule


def compile_builder(keys: tuple[str, ...], fields: tuple[str, ...], check_order: tuple[str, ...],
                    known: frozenset[str], namespace: dict[str, Any]
                    ) -> Callable[[dict[str, Any]], Any] | None:
    """A builder for objects with exactly ``keys`` (None when a required key is absent).

    ``fields``: the schema's fields in order (the event constructor's
    positional order); ``check_order``: the optional fields in the order the
    generic path checks them (the first bad one is the one reported);
    ``namespace``: the helpers the generated code calls (``MarketEvent``,
    ``_KIND_INTERN``, ``_SIDES``, ``_num``, ``_id``, ``_levels``, ``_bad``,
    ``_validate_slow``, ``_NEEDS``, ``_missing_for_kind``).
    """
    present = set(keys)
    if not present.issuperset(REQUIRED):
        return None  # the generic path names the missing field
    lines = [
        "def build(d):",
        "    venue = d['venue']",
        "    market_id = d['market_id']",
        "    kind = _KIND_INTERN.get(d['kind'])",
        "    ts = d['ts']",
        "    if (type(venue) is not str or not venue or type(market_id) is not str",
        "            or not market_id or kind is None or type(ts) is not int or ts < 0):",
        "        raise _validate_slow(d)",
    ]
    for name in check_order:
        lines += _field_check(name) if name in present else [f"    {name} = None"]
    unknown = tuple(sorted(k for k in keys if k not in known))
    if unknown:
        # keys outside the schema are kept, merged into extra (extra's own win)
        lines += ["    extra = dict(extra or {})",
                  f"    for key in {unknown!r}:",
                  "        extra.setdefault(key, d[key])"]
    lines += [
        "    if kind in _NEEDS:",
        "        missing = _missing_for_kind(kind, side, price, size, bid, ask, bids, asks)",
        "        if missing is not None:",
        "            raise _bad(missing, f'required for kind {kind!r} but missing')",
        f"    return MarketEvent({', '.join(fields)})",
    ]
    scope = dict(namespace)
    # Only schema field names are spliced in as code; keys outside the schema
    # enter as repr() literals, so a feed's keys cannot inject source.
    exec(compile("\n".join(lines), f"<event builder {'/'.join(keys)}>", "exec"), scope)
    build: Callable[[dict[str, Any]], Any] = scope["build"]
    return build
