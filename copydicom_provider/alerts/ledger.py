"""Which alerts were told: kept in an Airflow Variable, so that reruns and overlapping runs tell nobody twice.

Why pruned by study time: a run only looks back ``lookback_days``; an entry for a study older than
that can never be found again, so it is dropped and the Variable stays small. An alert is marked
after its message was handed over: a crash in between sends it again once, never loses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: The Airflow Variable: ``{"sent": {"<rule>|<event or study UID>": "<study date/time>"}}``.
VARIABLE = "copydicom_dose_alerts_sent"


class BadLedger(ValueError):
    """The Variable holds something that is not a ledger; the message says how to put it right."""


@dataclass
class SentLedger:
    sent: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | dict[str, Any] | None) -> SentLedger:
        if raw is None or raw == "":
            return cls()
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("sent"), dict):
            raise BadLedger(f'Variable {VARIABLE} is not {{"sent": {{...}}}}; delete it to start again '
                            "(alerts of the lookback window are then sent once more)")
        return cls({str(k): str(v) for k, v in data["sent"].items()})

    def is_sent(self, key: str) -> bool:
        return key in self.sent

    def mark(self, key: str, study_datetime: str) -> None:
        self.sent[key] = study_datetime

    def prune(self, before: str) -> int:
        """Forget alerts of studies before ``before`` (ISO); returns how many."""
        old = [k for k, when in self.sent.items() if when and when < before]
        for key in old:
            del self.sent[key]
        return len(old)

    def as_dict(self) -> dict[str, Any]:
        return {"sent": dict(sorted(self.sent.items()))}
