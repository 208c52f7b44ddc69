"""What landed when the destination's answer was lost: asked of the destination, not guessed.

Why: an upload whose reply never came (the destination restarted, or stopped answering for longer
than the timeout) may well have been stored: Orthanc stores, then answers. Counted as failed, such an
instance is counted wrong (it is there), and the summary no longer matches the destination. So the
answer is asked again once the destination is back: it is waited for ``RETURN_WAIT`` seconds at
most, and only what it really lacks counts as failed. A destination that only stopped answering for a
while goes on storing what it had received when it answers again, so what it lacks then is asked
once more ``SETTLE`` seconds later.
"""

from __future__ import annotations

import time

from copydicom_provider.copy.loose import held_by
from copydicom_provider.errors import ServerUnreachable
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook

#: How long a batch waits, at its end, for a destination that went away to answer again.
RETURN_WAIT = 10.0
RETURN_POLL = 0.25
#: Seconds between the first look-up after the return and the last, for uploads still being stored.
SETTLE = 1.0


def reply_lost(error: OrthancError, destination: OrthancHook) -> bool:
    """The destination gave no answer (refused, reset, timed out): what was sent may have landed."""
    return isinstance(error, ServerUnreachable) and error.server in (destination.url, destination.base_url)


def back(server: OrthancHook, wait: float = RETURN_WAIT) -> bool:
    """Whether ``server`` answers within ``wait`` seconds (a restart takes a few)."""
    deadline = time.monotonic() + wait
    while True:
        if server.responds(min(2.0, max(wait, 0.1))):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(RETURN_POLL)


def landed(destination: OrthancHook, instance_ids: list[str]) -> set[str] | None:
    """Which of ``instance_ids`` the destination holds, once it is back; None if it stays away."""
    if not instance_ids or not back(destination):
        return None if instance_ids else set()
    try:
        held = held_by(destination, instance_ids)
        if len(held) < len(instance_ids):
            time.sleep(SETTLE)
            held |= held_by(destination, [i for i in instance_ids if i not in held])
        return held
    except OrthancError as error:
        if isinstance(error, ServerUnreachable):
            return None
        raise

