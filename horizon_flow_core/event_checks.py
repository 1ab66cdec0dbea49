"""The checks at the venue-plugin boundary: what an event built in code may carry.

Events read from a feed log are validated as they are decoded
(:func:`~horizon_flow_core.events.event_from_dict`), and JSON cannot carry
NaN or infinity. Events a venue plugin builds from a frame can: a size of
``float("1e309")``, a timestamp in the year 9999 or beyond 64 bits, an
order id that is an int, an ``extra`` value orjson cannot write. One such
event would corrupt every window it enters (a timestamp far in the future
makes all state look idle), and one the audit log or feed writer cannot
serialize would stop the run. So the daemon and ``flow scan --venue`` pass
each event a venue emits through :func:`check_event`, reject the bad ones
naming the field (the frame is in the feed log already) and keep the rest.
"""

from __future__ import annotations

import math
from typing import Final

import orjson

from .errors import FeedError, preview
from .events import (
    BUY,
    KINDS,
    SELL,
    MarketEvent,
    _required_for_kind,
    event_from_dict,
    event_to_dict,
)

#: The latest timestamp an event may carry: 2200-01-01T00:00:00Z in nanoseconds.
#: Far below 2**63, so sums and differences of timestamps stay within int64
#: wherever they are stored.
MAX_TS: Final[int] = 7_258_118_400 * 1_000_000_000
_INT64: Final[int] = 2**63 - 1
_PRICES: Final[tuple[str, ...]] = ("price", "bid", "ask")
_SIZES: Final[tuple[str, ...]] = ("size", "bid_size", "ask_size")
_IDS: Final[tuple[str, ...]] = ("actor_id", "counterparty_id", "order_id", "tx_hash")


def _bad(field: str, reason: str) -> FeedError:
    return FeedError(f"venue plugin emitted an invalid event: {reason}", field=field)


def _number(value: object, name: str, *, nonneg: bool) -> FeedError | None:
    if type(value) is not float and type(value) is not int:
        return _bad(name, f"expected a number, got {type(value).__name__}")
    if not math.isfinite(value):
        return _bad(name, f"not a finite number: {value}")
    if nonneg and value < 0:
        return _bad(name, f"negative: {value}")
    return None


def _level_problem(level: object, name: str) -> FeedError | None:
    """Why a book level off the fast path (two finite floats, the size not
    negative) is invalid; None for one that is valid all the same (ints)."""
    if (type(level) is not tuple and type(level) is not list) or len(level) != 2:
        return _bad(name, "expected a (price, size) pair")
    return (_number(level[0], f"{name} price", nonneg=False)
            or _number(level[1], f"{name} size", nonneg=True))


def check_event(ev: MarketEvent) -> FeedError | None:
    """Why ``ev`` cannot be ingested or recorded, naming the field; None when it can.

    Checked: ``venue`` and ``market_id`` non-empty strings; ``kind`` known,
    ``side`` ``buy``/``sell`` or none, ``aggressor`` a bool or none and the
    fields the kind needs present (as the feed reader requires them, so what
    is recorded replays); ``ts`` an int in (0, :data:`MAX_TS`]; ``seq`` an int
    within 64 bits; prices finite; sizes finite and not negative (also in
    ``bids``/``asks`` levels); ids strings; ``extra`` serializable by orjson
    (the feed log and the audit log write it).
    """
    if type(ev.venue) is not str or not ev.venue:
        return _bad("venue", "expected a non-empty string")
    if type(ev.market_id) is not str or not ev.market_id:
        return _bad("market_id", "expected a non-empty string")
    kind = ev.kind
    if kind not in KINDS:
        return _bad("kind", f"unknown kind {preview(kind)}")
    if ev.side is not None and ev.side != BUY and ev.side != SELL:
        return _bad("side", f"expected 'buy' or 'sell', got {preview(ev.side)}")
    if ev.aggressor is not None and type(ev.aggressor) is not bool:
        return _bad("aggressor", f"expected true or false, got {preview(ev.aggressor)}")
    missing = _required_for_kind(kind, ev)
    if missing is not None:
        return _bad(missing, f"required for kind {kind} but missing")
    ts = ev.ts
    if type(ts) is not int:
        return _bad("ts", f"expected integer nanoseconds, got {type(ts).__name__}")
    if not 0 < ts <= MAX_TS:
        return _bad("ts", f"timestamp {ts} outside (0, {MAX_TS}] (1970 to 2200)")
    seq = ev.seq
    if seq is not None and (type(seq) is not int or not -_INT64 <= seq <= _INT64):
        return _bad("seq", "expected an integer within 64 bits")
    for name in _PRICES:
        value = getattr(ev, name)
        if value is not None and (err := _number(value, name, nonneg=False)) is not None:
            return err
    for name in _SIZES:
        value = getattr(ev, name)
        if value is not None and (err := _number(value, name, nonneg=True)) is not None:
            return err
    for name in _IDS:
        value = getattr(ev, name)
        if value is not None and type(value) is not str:
            return _bad(name, f"expected a string, got {type(value).__name__}")
    for name in ("bids", "asks"):
        levels = getattr(ev, name)
        if levels is None:
            continue
        for i, level in enumerate(levels):
            # the common case without building field names (a snapshot has many levels)
            if ((type(level) is tuple or type(level) is list) and len(level) == 2
                    and type(level[0]) is float and type(level[1]) is float
                    and math.isfinite(level[0]) and math.isfinite(level[1])
                    and level[1] >= 0):
                continue
            err = _level_problem(level, f"{name}[{i}]")
            if err is not None:
                return err
    if ev.extra is not None:
        try:
            orjson.dumps(ev.extra)
        except (TypeError, orjson.JSONEncodeError) as exc:
            return _bad("extra", f"cannot be written as JSON ({exc})")
    return None


def event_problem(ev: object) -> str | None:
    """What is wrong with what a venue plugin emitted, in one line; None when nothing:
    not a MarketEvent, failing :func:`check_event`, or not surviving a round trip
    through its dict form (what the feed log writes and a replay reads back)."""
    if not isinstance(ev, MarketEvent):
        return f"emitted {type(ev).__name__}, not a MarketEvent"
    err = check_event(ev)
    if err is not None:
        return f"emitted an invalid event: {err}"
    try:
        again = event_from_dict(event_to_dict(ev))
    except FeedError as exc:
        return f"emitted an event that does not round-trip: {exc}"
    if again != ev:
        return "emitted an event that does not round-trip"
    return None


def split_valid(events: list[MarketEvent]) -> tuple[list[MarketEvent],
                                                     list[tuple[MarketEvent, FeedError]]]:
    """The events that pass :func:`check_event`, and the others with their errors."""
    good: list[MarketEvent] = []
    bad: list[tuple[MarketEvent, FeedError]] = []
    for ev in events:
        err = check_event(ev)
        if err is None:
            good.append(ev)
        else:
            bad.append((ev, err))
    return good, bad
