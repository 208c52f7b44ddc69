"""Every ``COPYDICOM_*`` environment variable the package and its DAGs read: name, default, meaning.

Why one module: a deployment has one place to look for what it can set, and ``docs/configuration.md``
is generated from :data:`SETTINGS` (a test keeps the two equal). Values are read from the
environment when asked for, not at import, so a test or a task that sets a variable sees it.
Parsing and checking a value stay with the module that uses it (its messages name the variable).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default (None: unset means automatic) and its meaning."""

    name: str
    default: str | None
    meaning: str

    def raw(self) -> str | None:
        """The variable as set, None when it is not set (an empty value is returned as it is)."""
        return os.environ.get(self.name)

    def value(self) -> str:
        """The variable, else its default ("" for a setting without one)."""
        return os.environ.get(self.name, self.default or "")


POOL = Setting("COPYDICOM_POOL", "orthanc",
               "Airflow pool of the DAGs' tasks (caps concurrent tasks against clinical archives)")
RETRIES = Setting("COPYDICOM_RETRIES", "3",
                  "retries of each DAG task, with back-off from 30 s to 10 min")
REPLICATE_SCHEDULE = Setting("COPYDICOM_REPLICATE_SCHEDULE", "@hourly",
                             "schedule of `copydicom_replicate`: cron (UTC) or `30s`/`5m`/`2h`")
MONITOR_SCHEDULE = Setting("COPYDICOM_MONITOR_SCHEDULE", "30s",
                           "time schedule of `copydicom_monitor`, beside its change-log watch: cron (UTC) or "
                           "`15s`/`1m`/`2h`")
MONITOR_WATCH = Setting("COPYDICOM_MONITOR_WATCH", "orthanc_source",
                        "connection whose change log the triggerer watches to start `copydicom_monitor` within "
                        "seconds of an arrival; `none`: its schedule alone")
REPLICATE_TAGS_SCHEDULE = Setting("COPYDICOM_REPLICATE_TAGS_SCHEDULE", "@hourly",
                                  "schedule of `copydicom_replicate_tags`: cron (UTC) or `30s`/`5m`/`2h`")
MAX_RECORD_BYTES = Setting("COPYDICOM_MAX_RECORD_BYTES", "9500",
                           "size cap of one Splunk record in bytes (at least 2000); bigger records shed values")
RECORD_PROCESSES = Setting("COPYDICOM_RECORD_PROCESSES", None,
                           "processes that build tag records: `0` threads only, `N` for N; unset: automatic")
REPORT_DIR = Setting("COPYDICOM_REPORT_DIR", None,
                     "folder of the dose reports; unset: `copydicom_reports` under AIRFLOW_HOME")
PSEUDONYM_KEY = Setting("COPYDICOM_PSEUDONYM_KEY", None,
                        "secret key of the pseudonyms of the CLI's `--anonymize` (required by it)")

#: The CLI's URL roles (``--src``, ``--dest``, ``--index``) and the variables each can take instead.
ROLE_SUFFIXES = {"src": ("", "_USER", "_PASSWORD"), "dest": ("", "_USER", "_PASSWORD"),
                 "index": ("", "_USER", "_PASSWORD", "_HEC_TOKEN", "_TOKEN")}
_ROLE_MEANINGS = {"": "URL when `--{role}` is left out", "_USER": "user of `--{role}` when its URL has none",
                  "_PASSWORD": "password of `--{role}`, out of sight of the process list",
                  "_HEC_TOKEN": "Splunk HEC token of `--{role}`", "_TOKEN": "Splunk search token of `--{role}`"}
ROLE_SETTINGS = {
    f"COPYDICOM_{role.upper()}{suffix}": Setting(f"COPYDICOM_{role.upper()}{suffix}", None,
                                                 "CLI: " + _ROLE_MEANINGS[suffix].format(role=role))
    for role, suffixes in ROLE_SUFFIXES.items() for suffix in suffixes
}

#: Every setting, in the order ``docs/configuration.md`` lists them.
SETTINGS: tuple[Setting, ...] = (
    POOL, RETRIES, REPLICATE_SCHEDULE, MONITOR_SCHEDULE, MONITOR_WATCH, REPLICATE_TAGS_SCHEDULE, MAX_RECORD_BYTES,
    RECORD_PROCESSES, REPORT_DIR, PSEUDONYM_KEY, *ROLE_SETTINGS.values(),
)


def orthanc_pool() -> str:
    return POOL.value()


def task_retries() -> int:
    return int(RETRIES.value())


def pseudonym_key() -> str:
    return PSEUDONYM_KEY.value()


def role_variable(role: str, suffix: str = "") -> str | None:
    """``COPYDICOM_<ROLE><SUFFIX>`` of a CLI role as set, None when unset (KeyError for an unknown one)."""
    return ROLE_SETTINGS[f"COPYDICOM_{role.upper()}{suffix}"].raw()


def markdown_table() -> str:
    """The table of ``docs/configuration.md``."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{s.name}` | {f'`{s.default}`' if s.default is not None else '(unset)'} | {s.meaning} |"
             for s in SETTINGS]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
