"""A small byte-bounded LRU cache (thread-safe), used for decoded images and prediction results."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """Keeps the most recently used values while their total ``size_of`` stays within ``max_bytes``.

    ``max_items`` bounds the count as well (useful when sizes are tiny). A value larger than
    ``max_bytes`` is not cached at all.
    """

    def __init__(self, max_bytes: int, size_of: Callable[[V], int], max_items: int = 10_000) -> None:
        self.max_bytes = max_bytes
        self.max_items = max_items
        self._size_of = size_of
        self._data: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value (marked most recent) or None."""
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            self._data.move_to_end(key)
            return item[0]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def put(self, key: K, value: V) -> None:
        """Insert or replace; evicts least recently used entries beyond the bounds."""
        size = self._size_of(value)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                return
            self._data[key] = (value, size)
            self._bytes += size
            while self._data and (self._bytes > self.max_bytes or len(self._data) > self.max_items):
                _key, (_value, old_size) = self._data.popitem(last=False)
                self._bytes -= old_size

    def discard(self, predicate: Callable[[K], bool]) -> None:
        """Drop every entry whose key satisfies ``predicate``."""
        with self._lock:
            for key in [k for k in self._data if predicate(k)]:
                self._bytes -= self._data.pop(key)[1]

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    @property
    def nbytes(self) -> int:
        """Total size of the cached values."""
        with self._lock:
            return self._bytes
