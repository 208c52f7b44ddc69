"""``notify_failure``: the DAG-level ``on_failure_callback`` every job DAG carries (dag_building/job_dag.py).

Why it never raises: it runs after the run has failed, in the dag-processor; an error here would
only hide the run's own failure in a callback traceback, so a notification that cannot be sent
is logged and the run's state stays what it is.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from copydicom_provider.notifications import settings
from copydicom_provider.notifications.message import compose
from copydicom_provider.notifications.run_record import gather
from copydicom_provider.notifications.scrub import connection_secrets, scrub
from copydicom_provider.notifications.send import send

log = logging.getLogger(__name__)


def notify_failure(context: Any) -> None:
    """Tell whoever the Variable ``copydicom_notify`` names that this run failed; nobody when it is not set."""
    try:
        configured = settings.read()
        if configured is None:
            return
        record = gather(context)
        record = replace(record, reason=scrub(record.reason, connection_secrets(record.params)))
        send(configured, compose(record), context)
    except Exception as error:
        log.error("failure notification not sent: %s", scrub(f"{type(error).__name__}: {error}"))
