"""When a batch stops: a server away (probed once) or full (at once), and the peer lanes' gate."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from copydicom_provider.copy.failure_gate import FailureGate, PushGate
from copydicom_provider.hooks.errors import OrthancError

URL = "http://destination:8042"


class Probed:
    """A server whose probe (``responds``) answers as told, counting the probes."""

    def __init__(self, answers: bool) -> None:
        self.url = URL
        self.answers = answers
        self.probes = 0
        self.settings = SimpleNamespace(timeout=30.0)

    def responds(self, timeout: float) -> bool:
        self.probes += 1
        assert timeout <= 5.0  # a probe costs a few seconds, not a full timeout
        return self.answers


def away(server: str = URL) -> OrthancError:
    return OrthancError("no answer", unreachable=True, server=server)


def test_a_full_destination_trips_at_once_and_needs_an_operator():
    gate = FailureGate(Probed(True))
    gate.record(OrthancError("FullStorage", status=507, server=URL, orthanc_status=19))
    assert gate.tripped and gate.needs_operator and not gate.wait()
    assert "free disk space" in gate.reason


def test_a_silent_server_trips_at_its_first_unreachable_error():
    server = Probed(False)
    gate = FailureGate(server)
    gate.record(away())
    assert gate.tripped and not gate.needs_operator and gate.reason == "no answer" and server.probes == 1


def test_a_server_that_answers_its_probe_keeps_the_batch_going_up_to_the_limit():
    server = Probed(True)
    gate = FailureGate(server, limit=3)
    gate.record(away())
    gate.record(None)  # a success resets the count
    gate.record(away())
    gate.record(away())
    assert not gate.tripped and gate.wait()
    gate.record(away())
    assert gate.tripped and server.probes == 3  # the limit trips without a further probe


def test_an_unknown_server_or_a_refusal():
    gate = FailureGate(Probed(True))
    gate.record(OrthancError("refused", status=400, server=URL))  # one bad instance never stops the others
    assert not gate.tripped
    gate.record(away("http://elsewhere"))  # a server this batch cannot probe counts as away
    assert gate.tripped


def test_the_first_reason_to_stop_is_kept():
    gate = PushGate()
    assert gate.wait() is None
    first = OrthancError("away")
    assert gate.stop(first) and not gate.stop(OrthancError("later"))
    assert gate.wait() is first


def test_lanes_wait_while_a_failed_job_awaits_its_verdict():
    gate = PushGate()
    gate.failed()
    waited = threading.Event()
    lane = threading.Thread(target=lambda: (gate.wait(), waited.set()))
    lane.start()
    assert not waited.wait(0.1)
    gate.settled()
    assert waited.wait(5)
    lane.join(5)


def test_an_interrupted_run_keeps_the_gate_open_for_good():
    gate = PushGate()
    gate.release()
    gate.failed()  # a job cancelled by the interruption
    done = threading.Event()
    threading.Thread(target=lambda: (gate.wait(), done.set()), daemon=True).start()
    assert done.wait(5)
