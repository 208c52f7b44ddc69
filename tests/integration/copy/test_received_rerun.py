"""Reruns of a received window settle their candidates in bulk, and still find every correction.

Real Orthanc servers: the source overwrites re-stored instances (a correction keeps its ID), the
destination's clock may run ahead. MD5 look-ups are counted on the real hook, so a test fails if
a rerun falls back to asking each instance, or if it skips one it had to ask.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from copydicom_provider.copy import loose
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.replicate import replicate
from copydicom_provider.testing.dicom_generator import generate_studies, to_bytes
from tests.support.fixtures_orthanc import instance_bytes, instance_ids, seed


@pytest.fixture
def md5_asked(monkeypatch):
    """The instance IDs whose stored MD5 was asked of any Orthanc, in order."""
    asked: list[str] = []
    real = OrthancHook.stored_md5

    def counting(self, instance_id):
        asked.append(instance_id)
        return real(self, instance_id)

    monkeypatch.setattr(OrthancHook, "stored_md5", counting)
    return asked


def _store(server, dataset) -> None:
    reply = requests.post(f"{server.url}/instances", data=to_bytes(dataset), auth=server.auth, timeout=30)
    reply.raise_for_status()
    assert reply.json()["Status"] == "Success"


def test_a_received_rerun_asks_no_instance_alone_and_still_finds_both_kinds_of_correction(orthanc_factory, md5_asked):
    source = orthanc_factory("source", extra_config={"OverwriteInstances": True})
    destination = orthanc_factory("destination")
    items = seed(source, generate_studies(patients=2, studies_per_patient=1, series_per_study=2,
                                          instances_per_series=3, seed=7))
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    largest = max(len(to_bytes(i.dataset)) for i in items)
    # The copies land clearly after the stores: an upload's margin, and about a second each for the dates and
    # the clock readings, which Orthanc truncates to the second.
    time.sleep((loose.upload_margin(largest) + timedelta(seconds=4.5)).total_seconds())
    first = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert first.copied == len(items)

    md5_asked.clear()
    again = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert again.copied == again.updated == 0 and again.already_present == len(items), again.line()
    assert md5_asked == []  # settled by two bulk requests, not two requests per instance

    longer, same_size = items[1].dataset, items[4].dataset
    longer.PatientName = "Corrected^Name^With^A^Longer^Value"  # another stored size
    same_size.PixelData = bytes(reversed(same_size.PixelData))  # the same size, other content
    _store(source, longer)
    _store(source, same_size)
    md5_asked.clear()
    fixed = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert fixed.updated == 2 and fixed.copied == 0 and fixed.already_present == len(items) - 2, fixed.line()
    assert set(md5_asked) == {items[4].orthanc_id}  # only the one the sizes could not tell apart
    for item in (items[1], items[4]):
        assert instance_bytes(destination, item.orthanc_id) == instance_bytes(source, item.orthanc_id)
    assert instance_ids(destination) == {i.orthanc_id for i in items}

    settled = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert settled.updated == settled.copied == 0 and settled.already_present == len(items)


def test_a_destination_clock_an_hour_ahead_does_not_hide_a_correction(orthanc_factory):
    source = orthanc_factory("source", extra_config={"OverwriteInstances": True})
    destination = orthanc_factory("destination", fake_time="+1h")  # its copies look an hour newer
    items = seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                                          instances_per_series=3, seed=8))
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    assert replicate(source.url_with_credentials, destination.url_with_credentials, since=since).copied == 3

    corrected = items[0].dataset
    corrected.PixelData = bytes(reversed(corrected.PixelData))  # same size: only the dates or the MD5 can tell
    _store(source, corrected)
    fixed = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert fixed.updated == 1 and fixed.already_present == 2, fixed.line()
    assert instance_bytes(destination, items[0].orthanc_id) == instance_bytes(source, items[0].orthanc_id)


def test_verify_compares_every_loose_instance_by_md5(orthanc_factory, md5_asked):
    source = orthanc_factory("source")
    destination = orthanc_factory("destination")
    items = seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                                          instances_per_series=2, seed=9))
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    md5_asked.clear()
    checked = replicate(source.url_with_credentials, destination.url_with_credentials, since=since, verify=True)
    assert checked.already_present == len(items)
    assert sorted(md5_asked) == sorted([i.orthanc_id for i in items] * 2)  # each side, each instance


class _PageProxy:
    """Forwards every request to a real Orthanc, but answers ``POST /tools/bulk-content`` with ``page``
    (HTTP 200): a login page or a misrouted proxy that looks like success."""

    def __init__(self, target, page: bytes, content_type: str):
        import http.server
        import threading

        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _relay(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "POST" and self.path.startswith("/tools/bulk-content"):
                    proxy.intercepted += 1
                    status, reply, kind = 200, page, content_type
                else:
                    answer = requests.request(self.command, f"{target.url}{self.path}", data=body,
                                              headers={k: v for k, v in self.headers.items()
                                                       if k.lower() in ("authorization", "content-type", "accept")},
                                              timeout=30)
                    status, reply, kind = answer.status_code, answer.content, answer.headers.get(
                        "Content-Type", "application/octet-stream")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PUT = do_DELETE = _relay

        self.intercepted = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        user, password = target.auth
        self.url_with_credentials = f"http://{user}:{password}@127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(("page", "content_type"), [
    (b"<html><body>Please log in</body></html>", "text/html"),
    (b"{}", "application/json"),
])
def test_a_bulk_reply_that_only_looks_like_success_is_refused_and_loses_nothing(orthanc_factory, page, content_type):
    """A destination behind a proxy that answers bulk-content with a page (HTTP 200): a received rerun must not
    read "none held" from it. The run fails naming the request; the rerun straight to Orthanc copies the rest."""
    source = orthanc_factory("source")
    destination = orthanc_factory("destination")
    items = seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                                          instances_per_series=4, seed=17))
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    for item in items[:2]:
        requests.post(f"{destination.url}/instances", data=instance_bytes(source, item.orthanc_id),
                      auth=destination.auth, timeout=30).raise_for_status()
    proxy = _PageProxy(destination, page, content_type)
    try:
        with pytest.raises(Exception, match="bulk-content") as failure:
            replicate(source.url_with_credentials, proxy.url_with_credentials, since=since)
        assert proxy.intercepted >= 1
        assert destination.password not in str(failure.value)
    finally:
        proxy.close()
    after = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert after.copied == 2 and after.already_present == 2, after.line()
    assert instance_ids(destination) == {i.orthanc_id for i in items}
    for item in items:
        assert instance_bytes(destination, item.orthanc_id) == instance_bytes(source, item.orthanc_id)
