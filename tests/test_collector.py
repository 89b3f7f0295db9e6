"""The server's garbage-collector schedule (collector.py)."""

import gc
from collections.abc import Iterator

import pytest

from flowkick import collector


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_a_server_runs_full_collections_a_hundred_times_less_often_than_python_does(thresholds: None) -> None:
    default_young, default_middle, default_full = 700, 10, 10
    collector.space_out_full_collections()
    young, middle, full = gc.get_threshold()
    assert young * middle * full >= 100 * default_young * default_middle * default_full


def test_a_server_keeps_young_collections_small(thresholds: None) -> None:
    collector.space_out_full_collections()
    assert gc.get_threshold()[0] <= 700
