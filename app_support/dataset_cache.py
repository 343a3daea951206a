"""The app's parsed datasets, kept within a budget of bytes rather than a count.

A count says nothing about memory: eight cached datasets may be 8 MB or 16 GB. Each entry
here carries its size (:func:`augment_core.data.parse_worker.approx_size`, measured in the
worker that parsed it), and the least recently used entries are dropped until the total
fits the budget. The newest entry always stays, even alone over the budget: otherwise the
page that asked for it would parse the file again on every run.

Shared by every session (one per server); a key being built is built once, however many
sessions ask for it at the same moment.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable


class ByteBudgetCache:
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    @property
    def total(self) -> int:
        with self._lock:
            return sum(size for _, size in self._entries.values())

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._entries)

    def put(self, key: Hashable, value: Any, size: int) -> None:
        with self._lock:
            self._entries[key] = (value, size)
            self._entries.move_to_end(key)
            total = sum(s for _, s in self._entries.values())
            while total > self.budget and len(self._entries) > 1:
                _, (_, dropped) = self._entries.popitem(last=False)
                total -= dropped

    def get(self, key: Hashable, make: Callable[[], tuple[Any, int]]) -> Any:
        """The value under ``key``, made by ``make`` (returning (value, size)) when missing;
        an exception from ``make`` passes through and caches nothing."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit[0]
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None:
                    return hit[0]
            try:
                value, size = make()
            finally:
                with self._lock:
                    self._building.pop(key, None)
            self.put(key, value, size)
            return value
