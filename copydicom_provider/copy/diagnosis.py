"""What went wrong, in words an operator can act on, and asking the destination when a push job says little.

Why: a push job that failed reports "Error in the network protocol" whatever the destination's reason
was (a full disk, a refused file), so its first undelivered instance is sent once through the worker
for the destination's own answer.
"""

from __future__ import annotations

from typing import Any

from copydicom_provider.copy.outcome import Outcome, count
from copydicom_provider.copy.send import InstanceVanished, send_instance
from copydicom_provider.errors import StorageFull
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.summary import Progress, ReplicationSummary, log


def storage_full_reason(error: OrthancError) -> str:
    """What a full destination means for the operator, in one line."""
    return (f"{error}. It cannot store more: free disk space there, or raise its MaximumStorageSize or "
            "MaximumPatientCount, or unprotect patients; then rerun (what was copied is not sent again)")


def push_failure_reason(source: OrthancHook, job: dict[str, Any]) -> str:
    """Why the instances of a finished push job that did not land are counted as failed."""
    if job["State"] == "Success":
        return "the push job succeeded but the destination did not store the instance"
    details = job.get("ErrorDetails") or job.get("ErrorDescription") or job["State"]
    return f"Orthanc push job {job['ID']} on {source.name} ended {job['State']}: {details}"


def diagnose_failed_push(source: OrthancHook, destination: OrthancHook, problems: dict[str, str],
                         summary: ReplicationSummary, progress: Progress, reason: str) -> OrthancError | None:
    """Send the first instance a failed push job did not deliver through the worker, for the
    destination's own answer ("Error in the network protocol" is all the source reports).

    Delivered, it counts; refused, its reason is recorded. A full destination is returned, so the
    caller stops instead of pushing jobs that would fail alike.
    """
    first = next(iter(problems))
    try:
        size, status = send_instance(source, destination, first)
    except InstanceVanished:
        del problems[first]
        summary.vanished += 1
        progress.advance(0, skipped=1)
        return None
    except OrthancError as refusal:
        problems[first] = f"{reason}; sent again by the worker: {refusal}"
        return refusal if isinstance(refusal, StorageFull) else None
    del problems[first]
    count(summary, first, Outcome("copied" if status == "Success" else "already", size), log)
    progress.advance(1, size)
    return None
