"""The copydicom_replicate DAG, loaded by a real DagBag and run by Airflow itself (dag.test)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from airflow.utils.state import DagRunState

from copydicom_provider.testing.dicom_generator import generate_studies
from tests.support.fixtures_orthanc import instance_bytes, instance_ids, seed


def run(dag, logical_date, conf=None):
    dag_run = dag.test(logical_date=logical_date, run_conf=conf or {})
    assert dag_run.state == DagRunState.SUCCESS, dag_run.state
    summaries = [ti for ti in dag_run.get_task_instances() if ti.task_id == "summarize"]
    return summaries[0].xcom_pull(task_ids="summarize")


def test_dag_loads_with_params_and_mapping(dagbag):
    dag = dagbag.get_dag("copydicom_replicate")
    assert {"enumerate", "copy", "summarize"} <= set(dag.task_ids)
    assert dag.params["window"] == "received" and dag.params["mode"] == "rest"
    assert "radiology-it" in dag.owner and "dicom" in dag.tags
    assert dag.timetable.summary in {"@hourly", "0 * * * *"}


def test_a_manual_run_copies_its_interval_up_to_now(dagbag, source, destination, orthanc_connection):
    orthanc_connection("orthanc_source", source)
    orthanc_connection("orthanc_destination", destination)
    items = seed(
        source, generate_studies(patients=2, studies_per_patient=1, series_per_study=2, instances_per_series=2)
    )
    dag = dagbag.get_dag("copydicom_replicate")
    hour_end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)

    earlier_end = hour_end - timedelta(hours=2)  # [now-3h, now-2h), bounded by until: nothing arrived then
    earlier = run(dag, earlier_end, {"since": (earlier_end - timedelta(hours=1)).isoformat(),
                                     "until": earlier_end.isoformat()})
    assert earlier["candidates"] == 0 and instance_ids(destination) == set()

    summary = run(
        dag, hour_end - timedelta(hours=1), {"since": None, "until": None}
    )  # last complete hour's start to now
    assert summary["copied"] == len(items) and summary["failed"] == 0
    assert instance_ids(destination) == {i.orthanc_id for i in items}
    assert instance_bytes(destination, items[0].orthanc_id) == items[0].to_bytes()


def test_manual_run_with_study_date_params(dagbag, source, destination, orthanc_connection):
    items = seed(source, generate_studies(patients=3, studies_per_patient=2, series_per_study=1, instances_per_series=2,
                                          start_date=date(2018, 1, 1), end_date=date(2018, 12, 31), seed=5))
    conf = {
        "source_conn_id": orthanc_connection("pacs_a", source),
        "destination_conn_id": orthanc_connection("pacs_b", destination),
        "window": "study_date",
        "study_date_from": "2018-06-01",
        "study_date_to": "2018-12-31",
    }
    dag_run = dagbag.get_dag("copydicom_replicate").test(logical_date=datetime(2026, 2, 1, tzinfo=timezone.utc),
                                                         run_conf=conf)
    assert dag_run.state == DagRunState.SUCCESS
    summary = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "summarize").xcom_pull(
        task_ids="summarize"
    )
    expected = {i.orthanc_id for i in items if i.study_date >= date(2018, 6, 1)}
    assert summary["copied"] == len(expected) > 0
    assert instance_ids(destination) == expected
    labels = [ti.rendered_map_index for ti in dag_run.get_task_instances() if ti.task_id == "copy"]
    assert labels == [f"copied {len(expected)}, 0 present"]  # what the grid shows for the batch


def test_copy_tasks_link_to_the_study_in_orthanc_explorer(dagbag, source, destination, orthanc_connection):
    """One-study window: the copy task's extra link opens that study in the destination's explorer."""
    import requests

    items = seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=2,
                                          start_date=date(2017, 5, 5), end_date=date(2017, 5, 5), seed=11))
    conf = {"source_conn_id": orthanc_connection("link_src", source),
            "destination_conn_id": orthanc_connection("link_dst", destination),
            "window": "study_date", "study_date_from": "2017-05-05", "study_date_to": "2017-05-05"}
    dag = dagbag.get_dag("copydicom_replicate")
    dag_run = dag.test(logical_date=datetime(2026, 3, 1, tzinfo=timezone.utc), run_conf=conf)
    copy = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "copy")
    url = copy.xcom_pull(task_ids="copy", key="orthanc_explorer", map_indexes=copy.map_index)
    assert url == f"{destination.url}/app/explorer.html#study?uuid={items[0].study_orthanc_id}"
    assert dag.get_task("copy").operator_extra_links[0].name == "Orthanc Explorer"
    page = requests.get(url.split("#")[0], auth=destination.auth, timeout=10)
    assert page.status_code == 200 and "Orthanc" in page.text  # the explorer really is there
    assert requests.get(f"{destination.url}/studies/{items[0].study_orthanc_id}", auth=destination.auth).ok


def test_a_received_window_links_to_its_series_and_a_batch_to_its_one_study(
        dagbag, source, destination, orthanc_connection):
    """Loose instances (a received window): the link opens their series; a batch over several series of one
    study opens the study, and one over several studies the explorer's home page."""
    from copydicom_provider.hooks.orthanc import OrthancHook
    from copydicom_provider.jobs.candidates import Candidates
    from copydicom_provider.operators.links import copied_resource

    items = seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=3,
                                          seed=12))
    conf = {"source_conn_id": orthanc_connection("series_src", source),
            "destination_conn_id": orthanc_connection("series_dst", destination),
            "window": "received", "since": (datetime.now(timezone.utc) - timedelta(minutes=10)).isoformat()}
    dag_run = dagbag.get_dag("copydicom_replicate").test(logical_date=datetime.now(timezone.utc), run_conf=conf)
    assert dag_run.state == DagRunState.SUCCESS
    copy = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "copy")
    url = copy.xcom_pull(task_ids="copy", key="orthanc_explorer", map_indexes=copy.map_index)
    assert url == f"{destination.url}/app/explorer.html#series?uuid={items[0].series_orthanc_id}"
    assert instance_ids(destination) == {i.orthanc_id for i in items}

    more = seed(source, generate_studies(patients=2, studies_per_patient=1, series_per_study=2, instances_per_series=1,
                                         seed=13))
    hook = OrthancHook("series_src")
    one_study = [i for i in more if i.study_orthanc_id == more[0].study_orthanc_id]
    assert len({i.series_orthanc_id for i in one_study}) == 2
    assert copied_resource(hook, Candidates(instances=[i.orthanc_id for i in one_study])) == (
        "study", more[0].study_orthanc_id)
    assert copied_resource(hook, Candidates(instances=[i.orthanc_id for i in more])) is None  # two studies
    assert copied_resource(hook, Candidates(studies=[more[0].study_orthanc_id])) == ("study", more[0].study_orthanc_id)


def _failed_at_once(dag_run, task_id: str) -> str:
    """The task failed on its first try (no retry) and the run failed; returns its state."""
    from airflow.utils.state import TaskInstanceState

    assert dag_run.state == DagRunState.FAILED
    ti = next(t for t in dag_run.get_task_instances() if t.task_id == task_id)
    assert ti.state == TaskInstanceState.FAILED and ti.try_number == 1, (ti.state, ti.try_number)
    return ti.state


def test_a_backwards_study_date_window_fails_at_once(dagbag, source, destination, orthanc_connection):
    import time

    conf = {"source_conn_id": orthanc_connection("ff_src", source),
            "destination_conn_id": orthanc_connection("ff_dst", destination),
            "window": "study_date", "study_date_from": "2020-12-31", "study_date_to": "2020-01-01"}
    started = time.monotonic()
    dag_run = dagbag.get_dag("copydicom_replicate").test(logical_date=datetime(2026, 4, 1, tzinfo=timezone.utc),
                                                         run_conf=conf)
    _failed_at_once(dag_run, "enumerate")
    assert time.monotonic() - started < 120  # no back-off between retries


def test_an_unknown_connection_fails_at_once(dagbag, destination, orthanc_connection):
    conf = {"source_conn_id": "no_such_connection", "destination_conn_id": orthanc_connection("ff_dst2", destination),
            "window": "all"}
    dag_run = dagbag.get_dag("copydicom_replicate").test(logical_date=datetime(2026, 4, 2, tzinfo=timezone.utc),
                                                         run_conf=conf)
    _failed_at_once(dag_run, "enumerate")


def test_summarize_reports_a_failed_batch_and_fails_the_run(dagbag, source, orthanc_factory, orthanc_connection):
    """A destination that refuses the credentials: the copy fails at once, summarize still runs and names it."""
    destination = orthanc_factory("destination")
    seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=2))
    import json as _json
    import os

    conf = {"source_conn_id": orthanc_connection("sb_src", source), "window": "all",
            "destination_conn_id": "sb_dst"}
    bad = _json.loads(os.environ.get("AIRFLOW_CONN_SB_SRC"))
    bad.update(port=destination.http_port, password="wrong-password")
    os.environ["AIRFLOW_CONN_SB_DST"] = _json.dumps(bad)
    try:
        dag_run = dagbag.get_dag("copydicom_replicate").test(logical_date=datetime(2026, 4, 3, tzinfo=timezone.utc),
                                                             run_conf=conf)
    finally:
        del os.environ["AIRFLOW_CONN_SB_DST"]
    _failed_at_once(dag_run, "copy")
    summarize = next(t for t in dag_run.get_task_instances() if t.task_id == "summarize")
    assert summarize.state == "failed"  # it ran after the failed batch (trigger rule all_done)


def test_a_full_destination_fails_the_batch_at_once_and_summarize_says_what_to_do(
        dagbag, source, orthanc_factory, orthanc_connection):
    """A retry cannot make room on a full destination: the copy fails on its first try, without
    re-sending the batch three more times, and the run's summary says how to make room."""
    from tests.support.fixtures_orthanc import free_space, full_destination

    destination = full_destination(orthanc_factory)
    items = seed(
        source, generate_studies(patients=1, studies_per_patient=1, series_per_study=2, instances_per_series=5)
    )
    conf = {"source_conn_id": orthanc_connection("full_src", source),
            "destination_conn_id": orthanc_connection("full_dst", destination), "window": "all"}
    dag = dagbag.get_dag("copydicom_replicate")
    dag_run = dag.test(logical_date=datetime(2026, 4, 4, tzinfo=timezone.utc), run_conf=conf)
    _failed_at_once(dag_run, "copy")
    copy = next(t for t in dag_run.get_task_instances() if t.task_id == "copy")
    summary = copy.xcom_pull(task_ids="copy", key="summary", map_indexes=copy.map_index)
    assert summary["needs_operator"] and summary["copied"] == 0
    assert summary["failed"] + summary["not_attempted"] == len(items)
    assert "NOT copied" in copy.rendered_map_index
    assert "The file storage is full" in summary["stopped"] and "MaximumStorageSize" in summary["stopped"]
    summarize = next(t for t in dag_run.get_task_instances() if t.task_id == "summarize")
    assert summarize.state == "failed" and summarize.try_number == 1

    free_space(destination)
    summary = run(dag, datetime(2026, 4, 5, tzinfo=timezone.utc), conf)
    assert summary["copied"] == len(items) and summary["already_present"] == 0
    assert instance_ids(destination) == {i.orthanc_id for i in items}
