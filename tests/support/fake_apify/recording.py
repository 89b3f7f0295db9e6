"""A thread-safe list that tests can wait on, from sync or async code."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

import anyio.to_thread

T = TypeVar("T")


class Recording(Generic[T]):
    """Entries appended by a server thread, read and awaited by the test thread."""

    def __init__(self) -> None:
        self._entries: list[T] = []
        self._changed = threading.Condition()

    def append(self, entry: T) -> None:
        with self._changed:
            self._entries.append(entry)
            self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._entries.clear()

    def snapshot(self) -> list[T]:
        with self._changed:
            return list(self._entries)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[T]:
        """Block until at least `count` entries exist; raise TimeoutError naming what arrived."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._entries) >= count, timeout):
                got = len(self._entries)
                raise TimeoutError(f"expected {count} entries within {timeout} s, got {got}: {self._entries!r}")
            return list(self._entries)

    async def wait_for_async(self, count: int, timeout: float = 5.0) -> list[T]:
        """`wait_for` for async tests: waits in a worker thread so the test's loop keeps running."""
        return await anyio.to_thread.run_sync(self.wait_for, count, timeout)
