"""The C heap of a server process (heap.py): two malloc arenas, freed pages handed back.

Each behaviour runs in a fresh interpreter: an arena limit only holds for threads started
after it, and a test process's heap is shaped by every test before it.
"""

import subprocess
import sys
import textwrap

import pytest

from flowkick import heap

pytestmark = pytest.mark.skipif(heap._glibc() is None, reason="mallopt and malloc_trim are glibc's")

# Six threads, each allocating while the others still hold theirs, then glibc's own count
# of its arenas (malloc_stats writes one "Arena N:" block per arena to stderr).
ARENAS_AFTER_SIX_THREADS = """
import ctypes, sys, threading
from flowkick import heap
if sys.argv[1] == "limited":
    assert heap.limit_arenas()
ready, done, kept = threading.Barrier(7), threading.Event(), []
def allocate():
    kept.append([bytes(2000) for _ in range(100)])
    ready.wait()
    done.wait()
threads = [threading.Thread(target=allocate) for _ in range(6)]
for thread in threads:
    thread.start()
ready.wait()
ctypes.CDLL(None).malloc_stats()
done.set()
"""

# 150 MB of 3 KB bodies (malloc's, not Python's small-object allocator), all freed but the
# newest, which keeps the heap from shrinking at its top: the freed pages stay resident
# until a trim, asked for ("now") or left to the trimming thread ("later", given up to 10 s
# on a busy machine). Prints RSS in MB with every body held, and after.
RSS_AROUND_A_TRIM = """
import sys, time
from flowkick import heap
def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 // 2**20
if sys.argv[1] == "later":
    assert heap.keep_trimmed(0.05)
bodies = [bytes(3000) + bytes([n % 256]) for n in range(50_000)]
kept = bodies.pop()
held = rss()
del bodies
if sys.argv[1] == "now":
    assert heap.trim()
else:
    deadline = time.monotonic() + 10
    while held - rss() < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
print(held, rss())
"""


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True,
                          check=True, timeout=60)


def _arenas(mode: str) -> int:
    return sum(line.startswith("Arena ") for line in _run(ARENAS_AFTER_SIX_THREADS, mode).stderr.splitlines())


def test_threads_share_two_arenas_once_limited() -> None:
    assert _arenas("default") > 2  # glibc's own way: an arena per allocating thread
    assert _arenas("limited") == heap.ARENAS


def _freed_mb(when: str) -> int:
    before, after = map(int, _run(RSS_AROUND_A_TRIM, when).stdout.split())
    return before - after


def test_a_trim_hands_freed_pages_back_to_the_system() -> None:
    assert _freed_mb("now") >= 100


def test_a_server_process_trims_by_itself() -> None:
    assert _freed_mb("later") >= 100
