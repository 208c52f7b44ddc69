"""OrthancHook against real Orthanc servers (Debian's package, private processes)."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import free_port
from tests.support.fixtures_orthanc import instance_bytes, seed


def test_connection_reports_name_and_version(source, orthanc_connection):
    ok, message = OrthancHook(orthanc_connection("orthanc_src", source)).test_connection()
    assert ok, message
    assert "'source'" in message and "1.10" in message


def test_connection_wrong_password_names_problem_without_password(source, monkeypatch, caplog):
    secret = "Wr0ng-Pa55word-xyz"
    monkeypatch.setenv("AIRFLOW_CONN_BAD", f"orthanc://{source.username}:{secret}@127.0.0.1:{source.http_port}")
    caplog.set_level(logging.DEBUG)
    ok, message = OrthancHook("bad").test_connection()
    assert not ok
    assert "401" in message and "password" in message
    assert secret not in message and secret not in caplog.text


def test_connection_nothing_listening(monkeypatch):
    port = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_GONE", f"orthanc://u:Secret-9876@127.0.0.1:{port}?timeout=3")
    ok, message = OrthancHook("gone").test_connection()
    assert not ok
    assert "unreachable" in message and str(port) in message
    assert "Secret-9876" not in message


def test_connection_not_orthanc(orthanc_factory, monkeypatch):
    """A web server that is not Orthanc: /system answers, but not with Orthanc's fields."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"hello": "world"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_OTHER", f"orthanc://u:p-12345@127.0.0.1:{server.server_port}")
        ok, message = OrthancHook("other").test_connection()
    finally:
        server.shutdown()
    assert not ok and "not like Orthanc" in message


def test_uri_and_json_connections_and_from_url_agree(source, orthanc_connection, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_BYURI",
        f"orthanc://{source.username}:{source.password}@127.0.0.1:{source.http_port}?max_parallel=7&verify=false",
    )
    by_uri = OrthancHook("byuri")
    by_json = OrthancHook(orthanc_connection("byjson", source, max_parallel=7, verify=False))
    by_url = OrthancHook.from_url(source.url_with_credentials + "?max_parallel=7&verify=false")
    for hook in (by_uri, by_json, by_url):
        assert hook.system()["Name"] == "source"
        assert hook.url == source.url
        assert hook.settings.max_parallel == 7 and hook.settings.verify is False
    assert source.password not in by_url.url


def test_upload_download_identical_bytes_without_gzip(source):
    hook = OrthancHook.from_url(source.url_with_credentials)
    item = next(generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=1))
    data = item.to_bytes()
    reply = hook.upload_instance(data)
    assert reply["ID"] == item.orthanc_id and reply["Status"] == "Success"
    with hook.instance_file(item.orthanc_id) as response:
        assert "Content-Encoding" not in response.headers  # identity, not gzip
        downloaded = b"".join(response.iter_content(4096))
    assert downloaded == data == instance_bytes(source, item.orthanc_id)


def test_upload_streams_a_generator_body(source):
    hook = OrthancHook.from_url(source.url_with_credentials)
    item = next(
        generate_studies(
            patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=1, rows=256, columns=256
        )
    )
    data = item.to_bytes()
    chunks = (data[i : i + 10_000] for i in range(0, len(data), 10_000))
    assert hook.upload_instance(chunks)["ID"] == item.orthanc_id
    assert hook.download_instance(item.orthanc_id) == data


def test_upload_of_garbage_is_a_clear_error(source):
    hook = OrthancHook.from_url(source.url_with_credentials)
    with pytest.raises(OrthancError, match=r"400.*Bad file format") as err:
        hook.upload_instance(b"not a dicom file")
    assert source.password not in str(err.value)


def test_existence_check(source):
    hook = OrthancHook.from_url(source.url_with_credentials)
    present, absent = list(
        generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=2)
    )
    seed(source, [present])
    assert hook.instance_exists(present.orthanc_id) is True
    assert hook.instance_exists(absent.orthanc_id) is False
    assert hook.study_instance_ids(present.study_orthanc_id) == [present.orthanc_id]
    assert hook.study_instance_ids("00000000-00000000-00000000-00000000-00000000") is None


def test_changes_paging_covers_every_new_instance_once(source):
    hook = OrthancHook.from_url(source.url_with_credentials)
    items = seed(
        source, generate_studies(patients=2, studies_per_patient=2, series_per_study=1, instances_per_series=3)
    )
    seen: list[str] = []
    since, pages = 0, 0
    while True:
        page = hook.changes(since=since, limit=5)
        pages += 1
        seen += [c["ID"] for c in page["Changes"] if c["ChangeType"] == "NewInstance"]
        since = page["Last"]
        if page["Done"]:
            break
    assert pages > 2
    assert seen == [item.orthanc_id for item in items]
    assert hook.last_change()["Seq"] == since


def test_find_study_date_range_returns_exactly_those_studies(source):
    hook = OrthancHook.from_url(source.url_with_credentials)
    items = seed(
        source,
        generate_studies(patients=3, studies_per_patient=2, series_per_study=1, instances_per_series=1,
                         start_date=date(2021, 1, 1), end_date=date(2021, 12, 31)),
    )
    lo, hi = date(2021, 3, 1), date(2021, 9, 30)
    expected = {i.study_orthanc_id for i in items if lo <= i.study_date <= hi}
    assert 0 < len(expected) < len({i.study_orthanc_id for i in items})
    found = set(hook.find("Study", {"StudyDate": "20210301-20210930"}))
    assert found == expected
    paged = list(hook.find_all("Study", {"StudyDate": "20210301-20210930"}, page_size=1))
    assert sorted(paged) == sorted(expected)
    assert set(hook.find_all("Study", {"StudyDate": "20210301-"}, page_size=2)) == {
        i.study_orthanc_id for i in items if i.study_date >= lo
    }


def test_simplified_tags_and_study_statistics(source):
    hook = OrthancHook.from_url(source.url_with_credentials)
    items = seed(
        source, generate_studies(patients=1, studies_per_patient=1, series_per_study=2, instances_per_series=2)
    )
    tags = hook.simplified_tags(items[0].orthanc_id)
    assert tags["SOPInstanceUID"] == items[0].sop_uid and tags["Modality"] == "CT"
    stats = hook.study_statistics(items[0].study_orthanc_id)
    assert int(stats["CountInstances"]) == 4 and int(stats["CountSeries"]) == 2


def test_connection_failures_say_what_to_do(source):
    """A wrong port and https against a plain-HTTP port: one line each, naming the cause, no password."""
    import socket

    from copydicom_provider.hooks.errors import OrthancError

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    refused = OrthancHook.from_url(f"http://orthanc:s3cret-pw@127.0.0.1:{closed_port}")
    with pytest.raises(OrthancError) as raised:
        refused.system()
    assert "connection was refused: nothing listens" in str(raised.value) and raised.value.unreachable
    assert "s3cret-pw" not in str(raised.value) and "\n" not in str(raised.value)

    tls = OrthancHook.from_url(f"https://{source.username}:{source.password}@127.0.0.1:{source.http_port}")
    ok, message = tls.test_connection()
    assert not ok and "use http://" in message and source.password not in message
