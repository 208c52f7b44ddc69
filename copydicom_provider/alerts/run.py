"""One alert run, free of Airflow: search the lookback window, find what reached a value, tell what is new.

Why a lookback window and not a cursor: the events' time in the index is the study's time, and a
late-indexed study is still news; each run looks back ``lookback_days`` from its moment (a later end
would also catch studies whose scanner clock runs ahead, by ``LOOKAHEAD``) and the ledger, not the
window, makes each alert go once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from copydicom_provider.alerts.check import find_alerts
from copydicom_provider.alerts.ledger import SentLedger
from copydicom_provider.alerts.message import compose_alert
from copydicom_provider.alerts.thresholds import ThresholdTable
from copydicom_provider.errors import ConfigurationError
from copydicom_provider.notifications.message import Message
from copydicom_provider.reports.collect import Searcher, check_index, collect

DEFAULT_LOOKBACK_DAYS = 7
#: Past the run's moment: studies dated up to a day ahead (a scanner's clock, a time zone) are looked at too.
LOOKAHEAD = timedelta(days=1)


class Undelivered(ConfigurationError):
    """Alerts were found and nobody is configured to be told; nothing was marked, so a later run sends them."""


def alert_step(searcher: Searcher, index: str, now: datetime, lookback_days: float, table: ThresholdTable,
               ledger: SentLedger, deliver: Callable[[Message], None] | None,
               save: Callable[[SentLedger], None], link_base: str | None = None) -> dict[str, Any]:
    """Send one message per study with new exceedances; mark and save after each. Returns the counts."""
    if not lookback_days > 0:
        raise ValueError(f"lookback_days must be a number above 0, not {lookback_days!r}")
    start = now - timedelta(days=lookback_days)
    collected = collect(searcher, check_index(index), start, now + LOOKAHEAD, instances=False)
    alerts = find_alerts(collected.events, table)
    pending = [(alert, [e for e in alert.exceedances if not ledger.is_sent(e.key)]) for alert in alerts]
    pending = [(alert, new) for alert, new in pending if new]
    counts: dict[str, Any] = {"events": len(collected.events), "studies_alerting": len(alerts),
              "already_sent": sum(len(a.exceedances) for a in alerts) - sum(len(n) for _, n in pending),
              "messages_sent": 0, "exceedances_sent": 0, "thresholds": table.origin,
              "values_set_aside": dict(collected.unusable),
              "window": [start.isoformat(), (now + LOOKAHEAD).isoformat()]}
    if pending and deliver is None:
        raise Undelivered(f"{len(pending)} stud{'y has' if len(pending) == 1 else 'ies have'} new dose alerts "
                          "and no notifier is configured: set the Airflow Variable copydicom_dose_alerts_notify "
                          "(or copydicom_notify), then rerun; nothing was marked as sent")
    for alert, new in pending:
        assert deliver is not None
        deliver(compose_alert(alert, new, link_base))
        for exceedance in new:
            ledger.mark(exceedance.key, alert.study_datetime or now.isoformat())
        save(ledger)
        counts["messages_sent"] += 1
        counts["exceedances_sent"] += len(new)
        print(f"dose alert sent for Orthanc study {alert.orthanc_study_id or '(unknown)'}: "
              f"{', '.join(e.threshold.rule for e in new)}")
    forgotten = ledger.prune((start - timedelta(days=1)).isoformat()[:10])
    if forgotten:
        save(ledger)
    print(f"dose alerts on index {index} over {counts['window'][0]} .. {counts['window'][1]}: "
          f"{counts['events']} events, {counts['studies_alerting']} studies at or above a value, "
          f"{counts['messages_sent']} message(s) sent, {counts['already_sent']} alert(s) told before")
    if collected.unusable:  # a value with no unit or an unknown one cannot be compared: say so, never pass it
        print("dose alerts: values that could not be compared with any threshold (no unit, an unknown unit or "
              f"several values): {', '.join(f'{k} {n}' for k, n in sorted(collected.unusable.items()))}")
    return counts
