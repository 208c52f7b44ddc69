"""The bounded thread pool every copy step shares: planning, rest uploads, look-ups.

Why one module: the planner, the rest mode, the push accounting and the tag job all fan requests
out to the same servers, and each server's ``max_parallel`` bounds them all alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from copydicom_provider.hooks.orthanc import OrthancHook

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(function: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map`` over a bounded thread pool, results in input order."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="copydicom") as pool:
        yield from pool.map(function, items)


def workers_for(*hooks: OrthancHook) -> int:
    """The tightest ``max_parallel`` of the servers involved."""
    for hook in hooks:
        hook.get_conn()
    return min(hook.settings.max_parallel for hook in hooks)


def copy_threads(source: OrthancHook, destination: OrthancHook) -> int:
    """A thread per copy slot of both servers: while some read from the source, others send to the
    destination, so each server is kept at its ``max_parallel`` requests (``OrthancHook.slots``)."""
    return workers_for(source) + workers_for(destination)
