"""errors.py: the hooks' errors are built as the kind of what the server did, and keep their names."""

from __future__ import annotations

import pickle

from copydicom_provider.errors import (
    ConfigurationError,
    CopydicomError,
    JobFailed,
    ServerRefused,
    ServerUnreachable,
    StorageFull,
    raised_name,
)
from copydicom_provider.hooks.errors import ConfigurationError as HookConfigurationError
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.splunk import SplunkError, SplunkHecError, SplunkSearchError, SplunkSearchIncomplete
from copydicom_provider.jobs.replicate import ReplicationFailed
from copydicom_provider.jobs.replicate_tags import TagsFailed
from copydicom_provider.jobs.summary import ReplicationSummary, TagsSummary


def test_orthanc_errors_are_of_the_kind_of_what_happened() -> None:
    away = OrthancError("no answer", unreachable=True, server="http://a")
    assert isinstance(away, ServerUnreachable) and away.unreachable and not isinstance(away, ServerRefused)
    refused = OrthancError("refused", status=401)
    assert isinstance(refused, ServerRefused) and refused.status == 401 and refused.reason == "refused"
    full = OrthancError("full", status=500, orthanc_status=19)
    assert isinstance(full, StorageFull) and full.storage_full
    plain = OrthancError("interrupted")
    assert not isinstance(plain, (ServerUnreachable, ServerRefused)) and isinstance(plain, CopydicomError)
    assert {raised_name(e) for e in (away, refused, full, plain)} == {"OrthancError"}


def test_a_kind_survives_pickling_with_its_attributes() -> None:
    copy = pickle.loads(pickle.dumps(OrthancError("no answer", unreachable=True, server="http://a")))
    assert isinstance(copy, ServerUnreachable) and copy.server == "http://a" and str(copy) == "no answer"
    hec = pickle.loads(pickle.dumps(SplunkHecError("busy", status=503, accepted=2)))
    assert isinstance(hec, ServerUnreachable) and hec.accepted == 2 and hec.unreachable


def test_splunk_errors_are_of_the_kind_of_what_happened() -> None:
    assert isinstance(SplunkError("busy", status=503), ServerUnreachable)
    assert isinstance(SplunkError("down", unreachable=True), ServerUnreachable)
    token = SplunkHecError("token", status=403)
    assert isinstance(token, ServerRefused) and isinstance(token, SplunkHecError)
    assert raised_name(token) == "SplunkHecError"
    assert isinstance(SplunkSearchError("login", status=401), ServerRefused)
    assert isinstance(SplunkSearchIncomplete("partial"), ServerUnreachable)
    assert not isinstance(SplunkSearchError("no key"), (ServerRefused, ServerUnreachable))


def test_configuration_mistakes_are_value_errors_of_one_class() -> None:
    assert HookConfigurationError is ConfigurationError and issubclass(ConfigurationError, ValueError)


def test_failed_jobs_carry_their_summary() -> None:
    summary = ReplicationSummary(failed=1, failures=[["i1", "boom"]])
    failed = ReplicationFailed(summary)
    assert isinstance(failed, JobFailed) and not isinstance(failed, OrthancError)
    assert failed.summary is summary and str(failed) == "1 instance(s) failed: i1: boom"
    assert isinstance(TagsFailed(TagsSummary(failed=1)), JobFailed)
