"""Airflow DAG ``copydicom_monitor``: continuous replication with low latency, like the original tool's watch mode.

The same DAG as ``copydicom_replicate`` on a short schedule (30 s by default): each run copies what
the source received since the previous one, from its own cursor on the change log. Enable this one
or the hourly ``copydicom_replicate`` for a given pair of servers, not both (both would be safe,
never copying twice, but would do the planning twice).
"""

from __future__ import annotations

from copydicom_provider import config
from copydicom_provider.dag_building.factory import replicate_dag

SCHEDULE = config.MONITOR_SCHEDULE.value()

MONITOR_DOC = """
**Monitor mode.** Runs every 30 s by default (`COPYDICOM_MONITOR_SCHEDULE`, e.g. `15s`, `1m` or a cron
expression), so an instance reaches the destination about half an interval plus one run after the
source received it. Measured by `benchmarks/monitor_latency.py` under a real scheduler.
"""

dag = replicate_dag(
    "copydicom_monitor", SCHEDULE, "Replicate continuously: copy what the source received in the last seconds",
    MONITOR_DOC,
)
