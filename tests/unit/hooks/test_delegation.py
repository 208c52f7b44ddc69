"""A delegated method is the client's own: same signature, docstring and result; generators stay lazy."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from copydicom_provider.hooks.delegation import delegated


class Client:
    def add(self, a: int, *, b: int = 1) -> int:
        """Sum."""
        return a + b

    def count(self, n: int) -> Iterator[int]:
        """Count up."""
        yield from range(n)


class Owner:
    def __init__(self) -> None:
        self.loads = 0

    @property
    def client(self) -> Client:
        self.loads += 1
        return Client()

    add = delegated("client", Client.add)
    count = delegated("client", Client.count)


def test_the_method_is_the_clients():
    owner = Owner()
    assert owner.add(2, b=3) == 5
    assert str(inspect.signature(owner.add)) == str(inspect.signature(Client().add))
    assert Owner.add.__doc__ == "Sum."


def test_a_generator_reads_its_client_only_when_iterated():
    owner = Owner()
    numbers = owner.count(3)
    assert owner.loads == 0
    assert list(numbers) == [0, 1, 2] and owner.loads == 1
    assert list(inspect.signature(owner.count).parameters) == ["n"]
