"""Malformed venue frames, made from real ones: the robustness check of a venue plugin.

A venue's frames come from a network: a field can go missing, change type,
carry ``"1e309"``, a negative size, a 64-bit overflow or a 1,000-deep list.
The contract is that :meth:`normalize` then raises a
:class:`~horizon_flow_core.errors.FeedError` (``FrameError``) naming the
field, or emits events that pass
:func:`~horizon_flow_core.event_checks.check_event`; never another exception
(which a source can only log as "internal error") and never an event that
corrupts windows or cannot be written.

:func:`check_venue_robustness` takes recorded frames and, for every value in
each frame, up to a bound, deletes it or replaces it with each of
:data:`POISONS`, running every variant through a fresh normalizer. It is
deterministic (no randomness), so a failure names the frame, the path and
the poison, and reproduces.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from ..errors import FeedError
from ..event_checks import event_problem


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


#: What a field is replaced with, one at a time: (name, a function making it; a
#: fresh one each time, as a normalizer may keep or change what it is given).
POISONS: tuple[tuple[str, Callable[[], Any]], ...] = (
    ("null", lambda: None), ("empty string", lambda: ""), ("word", lambda: "abc"),
    ("'NaN'", lambda: "NaN"), ("'1e309'", lambda: "1e309"), ("'-5'", lambda: "-5"),
    ("-5", lambda: -5), ("1e30", lambda: 10**30), ("2**64", lambda: 2**64),
    ("true", lambda: True), ("1.5", lambda: 1.5), ("empty list", list),
    ("empty object", dict), ("'²'", lambda: "²"), ("1000-deep list", lambda: _deep(1000)),
)
_DELETED = object()
_DELETE: tuple[str, Callable[[], Any]] = ("deleted", lambda: _DELETED)


@attrs.frozen
class RobustnessFailure:
    """One mutated frame the venue did not handle by contract."""

    frame: int  #: index of the frame in the frames given
    path: str  #: where the value was changed, e.g. ``msg.price_changes[0].size``
    poison: str  #: what it was changed to (or ``deleted``)
    problem: str  #: the exception, or why an emitted event is invalid

    def __str__(self) -> str:
        return f"frame {self.frame}, {self.path} = {self.poison}: {self.problem}"


def _paths(value: Any, prefix: str = "") -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(printable path, key path) of every value inside ``value``, breadth first."""
    level: list[tuple[str, tuple[Any, ...], Any]] = [(prefix, (), value)]
    while level:
        nxt: list[tuple[str, tuple[Any, ...], Any]] = []
        for name, keys, v in level:
            if isinstance(v, dict):
                items: Iterable[tuple[Any, Any]] = v.items()
            elif isinstance(v, list):
                items = enumerate(v[:3])  # a list's first items stand for the rest
            else:
                continue
            for k, child in items:
                child_name = f"{name}[{k}]" if isinstance(k, int) else (
                    f"{name}.{k}" if name else str(k))
                yield child_name, (*keys, k)
                nxt.append((child_name, (*keys, k), child))
        level = nxt


def _mutated(frame: Any, keys: tuple[Any, ...], poison: Any) -> Any:
    out = copy.deepcopy(frame)
    target = out
    for k in keys[:-1]:
        target = target[k]
    if poison is _DELETED:
        del target[keys[-1]]
    else:
        target[keys[-1]] = poison
    return out


def mutations(frame: Any, *, max_paths: int = 60) -> Iterator[tuple[str, str, Any]]:
    """(path, poison name, mutated frame): each of the first ``max_paths`` values of
    ``frame`` (breadth first) deleted, then replaced by each poison."""
    for n, (name, keys) in enumerate(_paths(frame)):
        if n >= max_paths:
            return
        for label, make in (_DELETE, *POISONS):
            yield name, label, _mutated(frame, keys, make())


def check_venue_robustness(normalizer_factory: Callable[[], Any], frames: Iterable[Any], *,
                           max_paths: int = 60, recv_ts: int | None = None
                           ) -> list[RobustnessFailure]:
    """Every mutation of every frame through a fresh normalizer; the failures.

    A mutated frame passes when ``normalize`` raises a ``FeedError`` or returns
    events that are valid (:func:`check_event`) and round-trip. Anything else
    is a failure: another exception (a bug the live source can only log), or
    an invalid event. Frames are decoded JSON (what sources hand over).
    """
    failures: list[RobustnessFailure] = []
    for i, frame in enumerate(frames):
        for path, label, mutated in mutations(frame, max_paths=max_paths):
            try:
                events = normalizer_factory().normalize(mutated, recv_ts)
            except FeedError:
                continue
            except Exception as exc:  # the defect this check is for
                failures.append(RobustnessFailure(i, path, label,
                                                  f"{type(exc).__name__}: {exc}"[:200]))
                continue
            for ev in events:
                problem = event_problem(ev)
                if problem is not None:
                    failures.append(RobustnessFailure(i, path, label, problem[:200]))
                    break
    return failures


def load_frames(paths: Iterable[str | Path]) -> list[Any]:
    """Recorded frames from files: a ``.jsonl`` holds one frame a line, a ``.json`` one."""
    from ..jsonio import loads

    frames: list[Any] = []
    for path in paths:
        p = Path(path)
        if p.suffix == ".jsonl":
            frames += [loads(line) for line in p.read_bytes().splitlines() if line.strip()]
        else:
            frames.append(loads(p.read_bytes()))
    return frames


def recorded_frames(*directories: Path | None, exclude: Iterable[str] = ()) -> list[Any]:
    """The frames of every ``.json``/``.jsonl`` file in ``directories`` (those that
    exist; None is none), each file name once (the first directory that has it wins), in name
    order; ``exclude``: file names that are not frames. Empty when there are none."""
    skip = set(exclude)
    by_name: dict[str, Path] = {}
    for d in directories:
        if d is None or not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.suffix in (".json", ".jsonl") and p.name not in skip:
                by_name.setdefault(p.name, p)
    return load_frames(by_name[n] for n in sorted(by_name))


def assert_venue_robust(normalizer_factory: Callable[[], Any], frames: Iterable[Any], *,
                        max_paths: int = 20) -> None:
    """:func:`check_venue_robustness`, failing with the first 20 failures listed."""
    failures = check_venue_robustness(normalizer_factory, frames, max_paths=max_paths)
    if failures:
        shown = "\n".join(str(f) for f in failures[:20])
        raise AssertionError(f"{len(failures)} mutated frame(s) not handled by contract:\n"
                             f"{shown}")
