"""A hook's method that is its client's method: same signature, same docstring, written once.

Why: a hook built by composition keeps the public methods callers use, and repeating each client
method's argument list in the hook (to forward it) would be the same code twice, free to drift.
``send_events = delegated("hec_client", HecClient.send_events)`` reads the client from the hook
at call time and hands over its bound method. A generator method stays lazy: nothing, not even
reading the connection, happens before the first item is asked for.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

P = ParamSpec("P")
R = TypeVar("R")


class delegated(Generic[P, R]):  # lower case: read like ``functools.cached_property``
    """Descriptor: ``hook.<name>`` is ``getattr(hook.<client>, method.__name__)``."""

    def __init__(self, client: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.client = client
        self.method = method
        self.name = method.__name__
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, hook: None, owner: type) -> delegated[P, R]: ...
    @overload
    def __get__(self, hook: object, owner: type) -> Callable[P, R]: ...

    def __get__(self, hook: object | None, owner: type) -> delegated[P, R] | Callable[P, R]:
        if hook is None:
            return self
        if inspect.isgeneratorfunction(self.method):
            def lazy(*args: P.args, **kwargs: P.kwargs) -> Iterator[Any]:
                yield from getattr(getattr(hook, self.client), self.name)(*args, **kwargs)

            wrapper = functools.wraps(self.method)(lazy)
            signature = inspect.signature(self.method)
            wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]  # the bound method's
                parameters=list(signature.parameters.values())[1:])
            return cast(Callable[P, R], wrapper)
        return cast(Callable[P, R], getattr(getattr(hook, self.client), self.name))
