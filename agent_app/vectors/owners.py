"""Per-owner row-id arrays for filtered search, loaded on demand and dropped when the owner changes."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np


class OwnerCache:
    """owner → sorted ids; nothing is loaded at start-up, so opening 100k rows costs no time here."""

    def __init__(self, load: Callable[[str], np.ndarray]) -> None:
        self._load = load
        self._arrays: dict[str, np.ndarray] = {}

    def invalidate(self, owners: Iterable[str]) -> None:
        """Forget owners whose rows were added or deleted (call under the index write lock)."""
        for owner in set(owners):
            self._arrays.pop(owner, None)

    def ids_of(self, owners: list[str]) -> np.ndarray:
        """Sorted unique row ids of the given owners."""
        arrays = []
        for owner in owners:
            arr = self._arrays.get(owner)
            if arr is None:
                # Benign race: concurrent readers load the same array under the read lock.
                arr = self._arrays[owner] = self._load(owner)
            arrays.append(arr)
        if not arrays:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate(arrays)) if len(arrays) > 1 else arrays[0]
