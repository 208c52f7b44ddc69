"""The package's errors by kind, so that callers catch a type instead of reading flags or text.

Why kinds: what a caller does depends on the kind, not on which server failed: a mistake of the user
fails at once (no retry fixes it), a server away is left to retries, a refusal says the server's
reason, a full destination needs someone to act, and a job that failed carries what it did. The
hooks' own errors (:mod:`copydicom_provider.hooks.errors`, :mod:`copydicom_provider.hooks.splunk.errors`)
are subclasses of these, and :mod:`copydicom_provider.jobs.fail_fast` decides on them alone.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

ErrorT = TypeVar("ErrorT", bound=BaseException)


class CopydicomError(Exception):
    """Base of every error the package raises on purpose."""


class ConfigurationError(CopydicomError, ValueError):
    """A connection, parameter or setting is wrong: the message says which and how to fix it; fail fast.

    A ``ValueError`` too, so code that refuses bad input with ``ValueError`` is caught alike.
    """


class ServerUnreachable(CopydicomError):
    """No answer at all (refused, reset, timed out), or a server busy or down: a retry may succeed."""


class ServerRefused(CopydicomError):
    """The server answered, and refused: ``status`` is its HTTP status, the message its own reason."""

    status: int | None = None

    @property
    def reason(self) -> str:
        return str(self)


class StorageFull(ServerRefused):
    """The destination cannot store more (disk full, storage quota): every further upload fails alike."""


class JobFailed(CopydicomError):
    """Some items of a job failed; ``summary`` says what was done (it stays done) and what was not."""

    def __init__(self, summary: Any) -> None:
        super().__init__(summary.failure_text())
        self.summary = summary


def kinds_of(base: type[ErrorT], prefix: str) -> tuple[type[ErrorT], type[ErrorT]]:
    """``<prefix>Unreachable`` and ``<prefix>Refused``: ``base`` of the kinds its constructor sorts errors into.

    Made here once for every server's error class; the caller binds them to those names in its module
    (so that they pickle, as errors crossing a process pool must).
    """
    made = []
    for kind, doc in ((ServerUnreachable, "did not answer, or is busy or down"),
                      (ServerRefused, "answered with a status other than the one expected")):
        name = prefix + kind.__name__.removeprefix("Server")
        made.append(cast("type[ErrorT]", type(name, (base, kind), {
            "__doc__": f"{prefix} {doc}.", "__module__": base.__module__, "__qualname__": name,
            "raised_as": base.__name__,
        })))
    return made[0], made[1]


def raised_name(error: BaseException) -> str:
    """The class name the raiser wrote: ``SplunkHecError`` for the ``SplunkHecRefused`` its constructor chose.

    Why: messages that name an error's class keep the name users know, whatever kind it was sorted into.
    """
    return str(getattr(type(error), "raised_as", type(error).__name__))
