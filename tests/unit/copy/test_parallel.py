"""The shared thread pool: results in input order, bounded by the tightest server."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from copydicom_provider.copy.parallel import copy_threads, parallel_map, workers_for


class Server:
    """Just what the pool asks of a hook: its connection and its ``max_parallel``."""

    def __init__(self, max_parallel: int) -> None:
        self.settings = SimpleNamespace(max_parallel=max_parallel)
        self.connected = False

    def get_conn(self) -> None:
        self.connected = True


def test_results_come_in_input_order_whatever_finishes_first():
    release = threading.Event()

    def slow_first(item: int) -> int:
        if item == 0:
            release.wait(5)
        else:
            release.set()
        return item * 10

    assert list(parallel_map(slow_first, range(4), workers=4)) == [0, 10, 20, 30]


def test_one_worker_or_one_item_runs_in_the_calling_thread():
    caller = threading.current_thread()
    assert list(parallel_map(lambda _: threading.current_thread() is caller, [1, 2], workers=1)) == [True, True]
    assert list(parallel_map(lambda _: threading.current_thread() is caller, [1], workers=8)) == [True]


def test_the_tightest_server_bounds_the_workers_and_copies_get_a_thread_per_slot():
    source, destination = Server(4), Server(2)
    assert workers_for(source, destination) == 2 and source.connected and destination.connected
    assert copy_threads(source, destination) == 6
