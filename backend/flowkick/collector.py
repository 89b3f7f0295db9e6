"""The garbage collector's schedule for a long-running server.

A server at scale keeps hundreds of thousands of long-lived objects in its caches (stored
answers, client views, feed copies), spread over hundreds of megabytes. A full collection
visits every one of them, and their bodies' headers, at a cache miss each: 150 ms at
30,000 feeds, a stall every few seconds with Python's default thresholds, since cache
churn keeps promoting new survivors. Nothing in those caches forms a reference cycle
(reference counting frees them), so full collections are needed only for the rare cyclic
garbage (a failed task's traceback): run them a hundred times less often. (What
start-up made is frozen out of every collection: `app.create_app`.) Young
collections keep their default size, so each stays around a millisecond.
"""

from __future__ import annotations

import gc

YOUNG = 700  # Python's default: objects allocated between two young collections
MIDDLE = 10  # young collections per middle one (the default)
FULL = 1000  # middle collections per full one, at most (the default is 10)


def space_out_full_collections() -> None:
    """For a server process only: a test run or a command keeps Python's defaults."""
    gc.set_threshold(YOUNG, MIDDLE, FULL)
