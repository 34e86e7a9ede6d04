"""Results of pure functions of the books' immutable readings, kept by identity."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class Kept:
    """Results of pure functions of immutable inputs, kept for the inputs asked last.

    Inputs are matched by identity: ``Ledger`` hands out the same snapshot and
    scenario objects for as long as the books do not change, so a result kept
    for them is the answer until the next write, after which they are new
    objects and the old entries age out (at most ``size`` are kept). Two
    threads asking at once may both compute; either answer is the same.
    """

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[tuple[object, ...], Any]] = OrderedDict()

    def get(self, inputs: tuple[object, ...], extra: Hashable, compute: Callable[[], T]) -> T:
        key = (*map(id, inputs), extra)
        with self._lock:
            found = self._entries.get(key)
            if found is not None and all(a is b for a, b in zip(found[0], inputs, strict=True)):
                self._entries.move_to_end(key)
                value: T = found[1]
                return value
        value = compute()
        with self._lock:
            self._entries[key] = (inputs, value)  # holding the inputs keeps their ids unique
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value
