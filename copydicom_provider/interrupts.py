"""SIGTERM taken as Ctrl-C.

Why: ``docker stop``, Kubernetes and systemd stop a process with SIGTERM, and Python's default for it
is to die where it stands: no ``finally`` runs, so a peer-mode run leaves its temporary peer (with the
destination's credentials) registered on the source and its push jobs running. Raised as an
interrupt instead, SIGTERM takes the path Ctrl-C takes: the push jobs are cancelled, the peer is
removed, the worker processes stop, and the command says how far it got.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

#: The exit code of a command ended by SIGTERM, as a shell reports a process killed by it (128 + 15).
TERMINATED_EXIT = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: an interrupt, so every clean-up written for Ctrl-C runs for it too."""

    def __init__(self) -> None:
        super().__init__("stopped by SIGTERM")


def raise_terminated(signum: int = signal.SIGTERM, frame: FrameType | None = None) -> NoReturn:
    """A SIGTERM handler (also callable from one): raises :class:`Terminated` where the main thread is."""
    raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread; the previous handler after."""
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
