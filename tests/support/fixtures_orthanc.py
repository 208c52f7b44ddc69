"""Pytest fixtures: fresh private Orthanc servers per test (start-up takes ~0.1 s) and connections."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

import pytest
import requests

from copydicom_provider.dicom.ids import orthanc_id
from copydicom_provider.testing.dicom_generator import GeneratedInstance, generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer


@pytest.fixture
def orthanc_factory(tmp_path_factory) -> Iterator[Callable[..., OrthancServer]]:
    """Start as many Orthanc servers as a test needs; all are stopped by PID afterwards."""
    started: list[OrthancServer] = []

    def start(name: str = "orthanc", **kwargs) -> OrthancServer:
        server = OrthancServer(tmp_path_factory.mktemp(name), name=name, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(kill=True)  # storage is throw-away: no need for Orthanc's 3 s graceful stop


@pytest.fixture
def source(orthanc_factory) -> OrthancServer:
    return orthanc_factory("source")


@pytest.fixture
def destination(orthanc_factory) -> OrthancServer:
    return orthanc_factory("destination")


def connection_json(server: OrthancServer, **extra) -> str:
    """The Airflow connection of a test server, in the JSON form ``AIRFLOW_CONN_*`` accepts."""
    return json.dumps(
        {
            "conn_type": "orthanc",
            "host": "127.0.0.1",
            "port": server.http_port,
            "login": server.username,
            "password": server.password,
            "extra": extra,
        }
    )


@pytest.fixture
def orthanc_connection(monkeypatch) -> Callable[..., str]:
    """Register a server as an Airflow connection (env var); returns the connection id."""

    def register(conn_id: str, server: OrthancServer, **extra) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(server, **extra))
        return conn_id

    return register


def seed(server: OrthancServer, instances: Iterable[GeneratedInstance]) -> list[GeneratedInstance]:
    """Upload generated instances straight through Orthanc's REST API (not through our code)."""
    uploaded = []
    with requests.Session() as session:
        session.auth = server.auth
        for item in instances:
            reply = session.post(f"{server.url}/instances", data=item.to_bytes(), timeout=60)
            reply.raise_for_status()
            assert reply.json()["ID"] == item.orthanc_id
            uploaded.append(item)
    return uploaded


def instance_ids(server: OrthancServer) -> set[str]:
    return set(requests.get(f"{server.url}/instances", auth=server.auth, timeout=30).json())


def instance_bytes(server: OrthancServer, instance_id: str) -> bytes:
    reply = requests.get(f"{server.url}/instances/{instance_id}/file", auth=server.auth, timeout=60)
    reply.raise_for_status()
    return reply.content


def full_destination(orthanc_factory: Callable[..., OrthancServer], name: str = "destination") -> OrthancServer:
    """A destination Orthanc that cannot store another patient: its quota (MaximumPatientCount 1) is
    taken by a protected patient, so Orthanc answers FullStorage ("The file storage is full")
    instead of recycling. ``free_space(server)`` makes room again, as an operator would."""
    server = orthanc_factory(name, extra_config={"MaximumPatientCount": 1})
    occupant = next(iter(generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                                          instances_per_series=1, seed=4242)))
    seed(server, [occupant])
    reply = requests.put(f"{server.url}/patients/{orthanc_id(occupant.patient_id)}/protected", data="1",
                         auth=server.auth, timeout=10)
    reply.raise_for_status()
    return server


def free_space(server: OrthancServer) -> None:
    """Remove every patient (the protected occupant too), as an operator freeing the destination would."""
    for patient in requests.get(f"{server.url}/patients", auth=server.auth, timeout=10).json():
        requests.put(f"{server.url}/patients/{patient}/protected", data="0", auth=server.auth, timeout=10)
        requests.delete(f"{server.url}/patients/{patient}", auth=server.auth, timeout=10).raise_for_status()


def slow_ingest(server: OrthancServer, milliseconds: float = 10) -> OrthancServer:
    """Restart ``server`` with a Lua filter that holds each received instance ``milliseconds`` of CPU
    (Orthanc runs Lua one call at a time), so that a copy lasts long enough to be broken mid-way on
    a machine of any speed or load."""
    script = server.directory / "slow-ingest.lua"
    script.write_text("function ReceivedInstanceFilter(dicom, origin, info)\n"
                      f"  local until_ = os.clock() + {milliseconds / 1000:.4f}\n"
                      "  while os.clock() < until_ do end\n  return true\nend\n")
    server.stop(kill=True)
    server.extra_config = {**server.extra_config, "LuaScripts": [str(script)]}
    return server.start()


def failing_storage(server: OrthancServer, *, first_try_only: bool) -> OrthancServer:
    """Restart ``server`` failing uploads inside (HTTP 500, as Orthanc answers when two uploads create
    the same new storage folder at once): each instance's first upload only, or every upload."""
    script = server.directory / "failing-storage.lua"
    fail = "if not seen[uid] then seen[uid] = true; error('storage fault') end" if first_try_only \
        else "error('storage fault')"
    script.write_text("seen = {}\nfunction ReceivedInstanceFilter(dicom, origin, info)\n"
                      f"  local uid = dicom.SOPInstanceUID\n  {fail}\n  return true\nend\n")
    server.stop(kill=True)
    server.extra_config = {**server.extra_config, "LuaScripts": [str(script)]}
    return server.start()
