"""Airflow DAG ``copydicom_monitor``: continuous replication with low latency, like the original tool's watch mode.

The same DAG as ``copydicom_replicate``, started by the source's change log (watched by Airflow's
triggerer) and by a short time schedule (30 s by default) as a safety net: each run copies what
the source received since the previous one, from its own cursor on the change log. Enable this one
or the hourly ``copydicom_replicate`` for a given pair of servers, not both (both would be safe,
never copying twice, but would do the planning twice).
"""

from __future__ import annotations

from copydicom_provider import config
from copydicom_provider.assets import source_changes
from copydicom_provider.dag_building.factory import replicate_dag

SCHEDULE = config.MONITOR_SCHEDULE.value()
WATCH = config.MONITOR_WATCH.value().strip()

MONITOR_DOC = """
**Monitor mode.** Airflow's triggerer watches the change log of the source connection
`COPYDICOM_MONITOR_WATCH` (default `orthanc_source`; `none` turns the watch off) and starts a run
seconds after new instances arrive; a burst of arrivals while a run works queues one more run, not
one per instance. The time schedule (`COPYDICOM_MONITOR_SCHEDULE`, 30 s by default) runs beside it,
for when no triggerer runs. Every run, however started, takes up at the job's cursor, so nothing is
lost or copied twice whichever start wins. Measured by `benchmarks/monitor_latency.py`.
"""

dag = replicate_dag(
    "copydicom_monitor", SCHEDULE, "Replicate continuously: copy what the source received in the last seconds",
    MONITOR_DOC, watch=source_changes(WATCH) if WATCH.lower() not in ("", "none", "off") else None,
)
