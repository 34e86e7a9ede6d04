"""Memoised reads keyed by the chain head: the books change only by appending events.

The chain head (latest ``seq`` and its ``hash``) names the state of the books
exactly, so the result of a pure read (the planning snapshot, the books as a
Scenario, the diversions) is a function of (head, arguments). :class:`HeadMemo`
keeps those results for the newest head it has seen, a bounded LRU per kind of
read, and computes each missing one once even when many threads ask at the
same time (the others wait for it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar, cast

T = TypeVar("T")

Head = tuple[int, str]  # (seq, hash) of the chain head
DEFAULT_SIZE = 32  # entries per kind of read


@dataclass
class MemoStats:
    """Counts for one kind of read since the memo was made (for tests and tuning)."""

    hits: int = 0
    misses: int = 0


class HeadMemo:
    """A thread-safe, bounded LRU of read results for the newest chain head seen.

    Entries are keyed by (kind, arguments) under one head. A read at a newer
    head drops every entry (they can never be asked for again); a read at an
    older head (a reader whose transaction began before a write) is computed
    and returned but not stored. A head with the same ``seq`` and another hash
    (the database was replaced) also drops everything. Exceptions are not
    stored: the next call computes again.
    """

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError(f"memo size must be at least 1, got {size}")
        self._size = size
        self._lock = threading.Lock()
        self._head: Head | None = None
        self._entries: dict[str, OrderedDict[Hashable, Any]] = {}
        self._inflight: dict[tuple[Head, str, Hashable], Future[Any]] = {}
        self._stats: dict[str, MemoStats] = {}

    def get(self, head: Head, kind: str, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``compute()`` for (``kind``, ``key``) at ``head``, computed at most once.

        Concurrent callers asking for the same (head, kind, key) wait for the
        first one's result (or its exception).
        """
        stats_key = (head, kind, key)
        with self._lock:
            stats = self._stats.setdefault(kind, MemoStats())
            found, value = self._stored(head, kind, key)
            if found:
                return cast(T, value)
            pending = self._inflight.get(stats_key)
            if pending is not None:
                stats.hits += 1
            else:
                stats.misses += 1
                mine: Future[Any] = Future()
                self._inflight[stats_key] = mine
        if pending is not None:
            return cast(T, pending.result())
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._inflight[stats_key]
            mine.set_exception(exc)
            raise
        with self._lock:
            del self._inflight[stats_key]
            self._store(head, kind, key, value)
        mine.set_result(value)
        return value

    def peek(self, head: Head, kind: str, key: Hashable) -> tuple[bool, Any]:
        """(True, the stored value) for (``kind``, ``key``) at ``head``, else (False, None).

        Counted as a hit when found; a miss is counted by the :meth:`get` that follows.
        """
        with self._lock:
            return self._stored(head, kind, key)

    def _stored(self, head: Head, kind: str, key: Hashable) -> tuple[bool, Any]:
        """Under the lock: :meth:`peek`'s answer, a hit counted."""
        if head == self._head:
            entries = self._entries.get(kind)
            if entries is not None and key in entries:
                entries.move_to_end(key)
                self._stats.setdefault(kind, MemoStats()).hits += 1
                return True, entries[key]
        return False, None

    def _store(self, head: Head, kind: str, key: Hashable, value: Any) -> None:
        if head != self._head:
            if self._head is not None and head[0] < self._head[0]:
                return  # an older state of the books: never asked for again
            self._head = head
            self._entries.clear()
        entries = self._entries.setdefault(kind, OrderedDict())
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > self._size:
            entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every stored result (in-flight computations still finish)."""
        with self._lock:
            self._head = None
            self._entries.clear()

    def stats(self, kind: str) -> MemoStats:
        """Hits and misses of one kind of read (a copy).

        A call that waited for another thread's computation counts as a hit.
        """
        with self._lock:
            found = self._stats.get(kind, MemoStats())
            return MemoStats(found.hits, found.misses)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(e) for e in self._entries.values())
