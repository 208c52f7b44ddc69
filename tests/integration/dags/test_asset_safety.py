"""Safe without a human in the loop: what the tags asset triggers is de-identified and incremental.

The lead checks the chain under the real scheduler (tests/system/test_asset_chain.py); here the DAGs run
with dag.test() and the operator with the asset events Airflow would hand it, against real
Orthanc servers and the Splunk-compatible test server.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import requests
from airflow.utils.state import DagRunState

from copydicom_provider.assets import SPLUNK_TAGS
from copydicom_provider.compat import AirflowFailException
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.operators.conditional_replicate import ConditionalReplicateOperator, index_window
from copydicom_provider.testing.dagbag import DagBag
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.conftest import REPO_ROOT
from tests.integration.dags.test_copydicom_conditional_replicate import connections
from tests.integration.dags.test_copydicom_replicate_tags import asset_events
from tests.support.fixtures_orthanc import instance_ids

KEY = "asset-key-91c2"


def upload(server, data: bytes) -> str:
    return requests.post(f"{server.url}/instances", data=data, auth=server.auth, timeout=60).json()["ID"]


@pytest.fixture
def reports(source):
    """Two dose reports on the source; the first indexed two hours ago, the second just now."""
    ids = [upload(source, to_bytes(make_ct_dose_sr(seed=60 + n, patient_id=f"ASSET{n}")[0])) for n in range(2)]
    with SplunkTestServer() as splunk:
        for n, instance_id in enumerate(ids):
            record = {"RecordType": "instance", "SeriesDescription": "Dose Record", "OrthancInstanceID": instance_id}
            splunk.add_event(
                record, time_=1_700_000_000, index="dicom", indextime=time.time() - (7200 if n == 0 else 0)
            )
        yield ids, splunk


def asset_context(since: datetime, until: datetime, extra: dict | None = None) -> dict:
    """What Airflow hands an asset-triggered run: the triggering events, with replicate-tags' extra."""
    event = SimpleNamespace(
        extra={"indexed_since": since.isoformat(), "indexed_until": until.isoformat()} if extra is None else extra,
        timestamp=until,
    )
    # keyed by the asset's URI: Airflow 3.1's Asset cannot be a dict key outside Airflow (its hash fails)
    return {
        "dag_run": SimpleNamespace(run_type="asset_triggered"),
        "triggering_asset_events": {SPLUNK_TAGS.uri: [event]},
    }


def operator(conf: dict, **kwargs) -> ConditionalReplicateOperator:
    """The DAG's task as the form's defaults render it (anonymize off here: the asset must override it)."""
    return ConditionalReplicateOperator(
        task_id="copy", query='SeriesDescription="Dose Record"', source_conn_id=conf["source_conn_id"],
        destination_conn_id=conf["destination_conn_id"], splunk_conn_id=conf["splunk_conn_id"], **kwargs,
    )


def test_an_asset_triggered_run_is_deidentified_and_searches_only_what_was_just_indexed(
        source, destination, reports, monkeypatch):
    ids, splunk = reports
    conf = connections(monkeypatch, source, destination, splunk.connection_json(), pseudonym_secret=KEY)
    now = datetime.now(timezone.utc)
    result = operator(conf, anonymize=False).execute(asset_context(now - timedelta(minutes=10), now))
    assert result["copied"] == 1 and result["candidates"] == 1  # the record indexed two hours ago is out of scope
    landed = instance_ids(destination)
    assert len(landed) == 1 and not landed & set(ids)  # a de-identified copy, not the original
    patients = requests.get(f"{destination.url}/patients?expand", auth=destination.auth, timeout=30).json()
    assert patients[0]["MainDicomTags"]["PatientID"].startswith("ANON-")


def test_device_identity_follows_the_destinations_policy_and_a_persons_choice(
    source, destination, reports, monkeypatch
):
    _ids, splunk = reports
    now = datetime.now(timezone.utc)
    conf = connections(monkeypatch, source, destination, splunk.connection_json(),
                       pseudonym_secret=KEY, retain_device_identity=True)
    operator(conf, allow_burned_in=True).execute(asset_context(now - timedelta(minutes=10), now))
    conf = connections(monkeypatch, source, destination, splunk.connection_json(), pseudonym_secret=KEY)
    operator(conf, retain_device_identity=True).execute({})  # a manual run: the form's choice
    stations = set()
    for instance_id in instance_ids(destination):
        tags = requests.get(f"{destination.url}/instances/{instance_id}/simplified-tags", auth=destination.auth,
                            timeout=30).json()
        stations.add(tags.get("StationName"))
    assert stations == {"CTSTATION1"} and len(instance_ids(destination)) == 2
    task = operator(conf, allow_burned_in=True)
    assert not task.profile(OrthancHook(conf["destination_conn_id"]), forced=True).allow_burned_in  # never unattended
    assert task.profile(OrthancHook(conf["destination_conn_id"])).allow_burned_in


def test_an_asset_triggered_run_without_a_pseudonym_key_fails_clearly(source, destination, reports, monkeypatch):
    _, splunk = reports
    conf = connections(monkeypatch, source, destination, splunk.connection_json())
    now = datetime.now(timezone.utc)
    with pytest.raises(AirflowFailException, match="pseudonym_secret.*" + conf["destination_conn_id"]):
        operator(conf, anonymize=False).execute(asset_context(now - timedelta(minutes=10), now))
    assert instance_ids(destination) == set()


def test_the_index_window_spans_every_triggering_event_with_slack():
    start = datetime(2026, 5, 1, 10, tzinfo=timezone.utc)
    events = [SimpleNamespace(extra={"indexed_since": (start + timedelta(hours=h)).isoformat(),
                                     "indexed_until": (start + timedelta(hours=h, minutes=3)).isoformat()},
                              timestamp=start + timedelta(hours=h, minutes=3)) for h in (0, 1)]
    window = index_window(events, SimpleNamespace(warning=lambda *a: None))
    assert window.start == (start - timedelta(minutes=5)).timestamp()
    assert window.end == (start + timedelta(hours=1, minutes=8)).timestamp()
    unknown = index_window([SimpleNamespace(extra={}, timestamp=start)], SimpleNamespace(warning=lambda *a: None))
    assert unknown.start == (start - timedelta(days=1, minutes=5)).timestamp()


class EarlierEvents:
    """The shape of Airflow's inlet_events[asset] accessor: before().ascending().limit(), then a sequence."""

    def __init__(self, stamps: list[datetime]) -> None:
        self.stamps, self.bound = stamps, None

    def before(self, bound: str):
        self.bound = datetime.fromisoformat(bound)
        return self

    def ascending(self, ascending: bool = True):
        return self

    def limit(self, count: int):
        return [SimpleNamespace(timestamp=t) for t in sorted(self.stamps, reverse=True) if t < self.bound][:count]


class InletEvents:
    """Airflow's inlet-events accessor, looked up by asset (not a dict: 3.1's Asset has no working hash)."""

    def __init__(self, events) -> None:
        self.events = events

    def __getitem__(self, asset):
        assert asset.uri == SPLUNK_TAGS.uri
        return self.events


def test_the_window_starts_at_the_assets_previous_update_so_a_failed_tags_run_leaves_no_gap():
    from copydicom_provider.operators.conditional_replicate import previous_event_time

    start = datetime(2026, 5, 1, 10, tzinfo=timezone.utc)
    now = SimpleNamespace(extra={"indexed_since": (start + timedelta(hours=3)).isoformat(),
                                 "indexed_until": (start + timedelta(hours=3, minutes=2)).isoformat()},
                          timestamp=start + timedelta(hours=3, minutes=2))
    context = {"inlet_events": InletEvents(EarlierEvents([start, start + timedelta(hours=1)]))}
    quiet = SimpleNamespace(warning=lambda *a: None)
    previous = previous_event_time(context, [now], quiet)
    assert previous == start + timedelta(hours=1)  # the hour-2 tags run failed: its records come along
    window = index_window([now], quiet, previous)
    assert window.start == (start + timedelta(minutes=55)).timestamp()
    assert previous_event_time({"inlet_events": {}}, [now], quiet) is None  # no inlet: the events' own windows


def test_a_manual_run_deidentifies_by_default(dagbag, source, destination, reports, monkeypatch):
    ids, splunk = reports
    dag = dagbag.get_dag("copydicom_conditional_replicate")
    assert dag.params["anonymize"] is True
    conf = connections(monkeypatch, source, destination, splunk.connection_json(), pseudonym_secret=KEY)
    run = dag.test(logical_date=datetime.now(timezone.utc), run_conf=conf)
    assert run.state == DagRunState.SUCCESS
    landed = instance_ids(destination)
    assert len(landed) == 2 and not landed & set(ids)


def test_a_dry_run_tags_run_emits_no_asset_event_and_a_real_one_says_when_it_indexed(
        dagbag, source, monkeypatch):
    upload(source, to_bytes(make_ct_dose_sr(seed=70)[0]))
    with SplunkTestServer() as splunk:
        monkeypatch.setenv("AIRFLOW_CONN_ORTHANC_SOURCE", json.dumps({
            "conn_type": "orthanc", "host": "127.0.0.1", "port": source.http_port,
            "login": source.username, "password": source.password}))
        monkeypatch.setenv("AIRFLOW_CONN_SPLUNK_DEFAULT", splunk.connection_json())
        dag = dagbag.get_dag("copydicom_replicate_tags")
        before = len(asset_events())
        dry = dag.test(logical_date=datetime.now(timezone.utc), run_conf={"window": "all", "dry_run": True})
        assert dry.state == DagRunState.SUCCESS
        summary = next(ti for ti in dry.get_task_instances() if ti.task_id == "summarize")
        assert summary.xcom_pull(task_ids="summarize")["sent"] == 0
        assert len(asset_events()) == before and splunk.events == []
        fresh = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag(
            "copydicom_replicate_tags"
        )  # dag.test renders onto tasks
        # dag.test starts the run at its logical date; the scheduler starts it when it starts
        real = fresh.test(logical_date=datetime.now(timezone.utc) - timedelta(minutes=1), run_conf={"window": "all"})
        assert real.state == DagRunState.SUCCESS
        (event,) = asset_events()[before:]
        since, until = datetime.fromisoformat(event["indexed_since"]), datetime.fromisoformat(event["indexed_until"])
        indexed = [e.indextime for e in splunk.events]
        assert indexed and all(int(since.timestamp()) <= t <= until.timestamp() for t in indexed)
