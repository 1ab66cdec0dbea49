"""Bounded memories: a set and a map that forget their oldest keys.

The normalizer runs for days in a daemon; every piece of per-key state it
keeps (trade keys seen, orders open, order aliases) is bounded by one of
these, oldest first out. Insertion order is the frames' order, so eviction
is deterministic for the same input.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedKeySet(Generic[K]):
    """Remembers the last ``capacity`` keys added; ``add`` says whether a key is new."""

    __slots__ = ("_keys", "capacity", "evicted")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._keys: OrderedDict[K, None] = OrderedDict()
        self.evicted = 0

    def add(self, key: K) -> bool:
        """Add ``key``; return True when it was not already remembered."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self.capacity:
            self._keys.popitem(last=False)
            self.evicted += 1
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)


class BoundedMap(Generic[K, V]):
    """A dict that drops its least recently written key beyond ``capacity``."""

    __slots__ = ("_items", "capacity", "evicted")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self.evicted = 0

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def __setitem__(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
            self.evicted += 1

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> Iterator[tuple[K, V]]:
        return iter(self._items.items())
