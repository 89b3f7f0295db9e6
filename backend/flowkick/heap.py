"""The C heap of a long-running server: two malloc arenas, and free pages handed back.

Much of a server's memory is held by C's allocator (glibc's malloc), not by Python's own:
the stored answers' compressed bodies, feed rows as SQLite hands them over, SQLite's page
caches. glibc gives each thread that allocates its own arena, up to eight per core, and
every database connection here is a thread (aiosqlite): each arena keeps what its thread
freed for its own later use. And a page freed in the middle of an arena stays in the
process until `malloc_trim` hands it back: only the top of a heap is ever returned by
itself. The refresher's renewals free and allocate feed rows all day long, so both add up.

At 30,000 feeds (bench/scale.py's load on one built database, RSS after a cold pass of
every URL and a Zipf load): 344–352 MB as glibc leaves it; 330–332 MB with two arenas;
two arenas and a trim, 307–312 MB (a trim took 1.5–3.5 ms). A first fill of those feeds
peaked at 141–147 MB instead of 169–181 MB, and took no longer (71–76 s against 75–79 s,
alternated). Other C libraries (musl, macOS) have neither call, and keep their own ways.
"""

from __future__ import annotations

import ctypes
import threading
import time
from functools import cache

ARENAS = 2  # the threads mostly take turns (the GIL), so two arenas seldom make one wait
TRIM_SECONDS = 10.0  # between two trims; a trim walks the heap for a few milliseconds, off the event loop
_M_ARENA_MAX = -8  # glibc's malloc.h


@cache
def _glibc() -> ctypes.CDLL | None:
    """glibc, when this process runs on it (mallopt and malloc_trim are its own)."""
    libc = ctypes.CDLL(None)  # the symbols the process has loaded: its C library's among them
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def limit_arenas() -> bool:
    """At most `ARENAS` malloc arenas from now on: call it before the process starts threads
    (a thread keeps the arena it first allocated from). False where glibc is not the allocator."""
    libc = _glibc()
    return libc is not None and libc.mallopt(_M_ARENA_MAX, ARENAS) == 1


def trim() -> bool:
    """Hand the heap's free pages back to the system; True when some were."""
    libc = _glibc()
    return libc is not None and libc.malloc_trim(0) == 1


def keep_trimmed(seconds: float = TRIM_SECONDS) -> bool:
    """Trim every `seconds`, for the rest of the process, on a thread of its own: the call
    lets go of the GIL (ctypes), so requests go on meanwhile. False without glibc."""
    if _glibc() is None:
        return False

    def trimming() -> None:
        while True:
            time.sleep(seconds)
            trim()

    threading.Thread(target=trimming, name="flowkick-heap-trim", daemon=True).start()
    return True
