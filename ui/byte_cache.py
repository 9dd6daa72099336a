"""A process-wide least-recently-used cache bounded by bytes, for per-image results shared by every session.

Streamlit's own caches are bounded by entry count only, and an entry's size depends on the
upload: 128 entries of a large decoded image are gigabytes. This one counts the bytes of the
numpy arrays each value holds (inside dataclasses, tuples, lists and dicts) and drops the
least recently used entries once the total passes its budget. Values are shared, not copied:
callers must not modify them. No Streamlit here; `ui.cache` makes one per process.
"""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np


def array_bytes(value: Any, depth: int = 6) -> int:
    """The bytes of every numpy array, bytes and str inside `value` (dataclass fields, tuples, lists, dict values), to `depth` levels.

    Six levels reach a smear field's stages: (cells, count) -> cells -> cell -> analysis -> stages -> arrays.
    """
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if depth == 0:
        return 0
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [getattr(value, field.name) for field in dataclasses.fields(value)]
    elif isinstance(value, (tuple, list)):
        children = list(value)
    elif isinstance(value, dict):
        children = list(value.values())
    else:
        return 0
    return sum(array_bytes(child, depth - 1) for child in children)


class ByteBudgetCache:
    """Values by key, evicting the least recently used once their arrays pass `budget_bytes` in all.

    A value larger than the whole budget is returned but not kept. Computing happens outside the
    lock, so two sessions asking for the same new key at once may both compute it.
    """

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    @property
    def total_bytes(self) -> int:
        return self._total

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value for `key`, or `compute()` kept under it (exceptions propagate and nothing is kept)."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def get(self, key: Hashable) -> Any | None:
        """The value kept under `key`, now the most recently used, or None when it is not (or no longer) kept."""
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key][0]

    def put(self, key: Hashable, value: Any) -> bool:
        """Keep `value` under `key` as the most recently used, dropping the least recently used past the budget.

        Returns False, keeping nothing, for a value larger than the whole budget.
        """
        size = array_bytes(value)
        if size > self.budget_bytes:
            return False
        with self._lock:
            if key in self._entries:
                self._total -= self._entries.pop(key)[1]
            self._entries[key] = (value, size)
            self._total += size
            while self._total > self.budget_bytes:
                self._total -= self._entries.popitem(last=False)[1][1]
        return True

    def discard(self, key: Hashable) -> None:
        """Forget `key`'s value, if it is kept."""
        with self._lock:
            if key in self._entries:
                self._total -= self._entries.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._total = 0
