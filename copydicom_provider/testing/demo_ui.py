"""``make demo-ui``: a working Airflow on the last ``make demo``'s servers, to try things in, until Ctrl-C.

The demo's Orthanc servers start again on their storage and ports, the Splunk-compatible test
server on loopback (with the events the demo sent), and Airflow as it runs on one machine
(``AirflowServices``: api-server, scheduler, dag-processor, plus the triggerer) on the demo's
SQLite database. The connections go into the metadata database, not ``AIRFLOW_CONN_*`` variables,
so Admin > Connections lists them and their Test button works. The job DAGs are unpaused; only
``copydicom_monitor`` (every 30 s) waits for a click. Login is the simple auth manager's: user
``admin``, with the password Airflow generates on its first start into ``PASSWORD_FILE``.
"""

from __future__ import annotations

import json
import secrets
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from copydicom_provider.testing.airflow_services import SERVICES, AirflowServices
from copydicom_provider.testing.demo import REPO, ROOT, STATE, UI_PORT
from copydicom_provider.testing.orthanc_server import OrthancServer
from copydicom_provider.testing.splunk import SplunkTestServer

HOME = ROOT / "airflow"
USER = "admin"
#: Written by the simple auth manager on the api-server's first start: ``{"admin": "<random password>"}``.
PASSWORD_FILE = HOME / "simple_auth_manager_passwords.json.generated"
#: Unpaused at start; ``copydicom_monitor`` stays paused (it would poll the source every 30 s).
UNPAUSED = ("copydicom_replicate", "copydicom_replicate_tags", "copydicom_conditional_replicate",
            "copydicom_dose_report")
#: Where ``make demo`` left each Orthanc's connection id.
CONN_IDS = {"source": "orthanc_source", "destination": "orthanc_destination", "research": "orthanc_research"}


@dataclass
class DemoAirflow(AirflowServices):
    """``AirflowServices`` behind a login (the simple auth manager, not every user an admin)."""

    token: str = field(default="", repr=False)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return super().api(method, path, headers=headers, **kwargs)

    def log_in(self, password: str) -> None:
        """A JWT for the REST API, as the UI's login page gets one."""
        response = requests.post(f"{self.url}/auth/token", json={"username": USER, "password": password}, timeout=30)
        response.raise_for_status()
        self.token = response.json()["access_token"]


def demo_airflow(port: int = UI_PORT) -> DemoAirflow:
    """The demo's Airflow: its home under ``.demo/``, a login, Test enabled, the triggerer too."""
    return DemoAirflow(
        HOME, REPO / "dags", port=port,
        env_extra={"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                   "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin"},
        services=(*SERVICES, "triggerer"),
        health_parts=("metadatabase", "scheduler", "dag_processor", "triggerer"),
    )


def connections(servers: list[OrthancServer], splunk: SplunkTestServer) -> list[dict[str, Any]]:
    """The demo's connections as the REST API stores them (with their passwords: never print them)."""
    stored = []
    for server in servers:
        extra = {"pseudonym_secret": secrets.token_hex(16)} if server.name == "research" else {}
        stored.append({"connection_id": CONN_IDS[server.name], "conn_type": "orthanc", "host": "127.0.0.1",
                       "port": server.http_port, "login": server.username, "password": server.password,
                       "extra": json.dumps(extra)})
    splunk_conn = json.loads(splunk.connection_json())
    stored.append({"connection_id": "splunk_default", **splunk_conn, "extra": json.dumps(splunk_conn["extra"])})
    return stored


def store_connections(airflow: DemoAirflow, entities: list[dict[str, Any]]) -> None:
    """Create or overwrite them in the metadata database (the ports of the Splunk stand-in change)."""
    airflow.api("PATCH", "connections", json={
        "actions": [{"action": "create", "entities": entities, "action_on_existence": "overwrite"}]})


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _where(path: Path) -> str:
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def tell(airflow: DemoAirflow, servers: list[OrthancServer], splunk: SplunkTestServer) -> None:
    """Where everything is, and where each password is kept (never the passwords themselves)."""
    for server in servers:
        print(f"Orthanc {server.name}: {server.url}/app/explorer.html (user {server.username}; password in "
              f"{_where(server.config_path)}, RegisteredUsers; connection {CONN_IDS[server.name]})")
    print(f"Splunk test server: HEC {splunk.hec_url}, management {splunk.mgmt_url} (user {splunk.username}; "
          "its password and HEC token are in the connection splunk_default, Admin > Connections)")
    print(f"Airflow's connections: Admin > Connections ({', '.join([*CONN_IDS.values(), 'splunk_default'])}), "
          "Test enabled")
    print(f"DAGs unpaused: {', '.join(UNPAUSED)} (copydicom_monitor stays paused: one click unpauses it)")
    print(f"Airflow's service logs: {_where(airflow.home)}/*.log; task logs: {_where(airflow.home / 'logs')}")
    print(f"Airflow UI: {airflow.url} (user {USER}; the simple auth manager generated the password on its first "
          f"start: `cat {_where(PASSWORD_FILE)}`); Ctrl-C stops everything", flush=True)


def main() -> int:
    """Start the demo's servers, Splunk's stand-in and a whole Airflow on the demo's database, until Ctrl-C."""
    if not STATE.exists():
        print("run `make demo` first: there is no demo state in .demo/", file=sys.stderr)
        return 1
    ports = json.loads(STATE.read_text())
    servers = [OrthancServer(ROOT / f"orthanc-{name}", name=name, http_port=port) for name, port in ports.items()]
    splunk = SplunkTestServer(persist_path=ROOT / "splunk-events.jsonl")
    airflow = demo_airflow()
    for stop in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a shell's background job starts with it ignored
        signal.signal(stop, _interrupt)
    try:
        for server in servers:
            server.start()
        splunk.start()
        print("starting Airflow: api-server, scheduler, dag-processor, triggerer ...", flush=True)
        airflow.start(timeout=240)
        airflow.log_in(json.loads(PASSWORD_FILE.read_text())[USER])
        store_connections(airflow, connections(servers, splunk))
        for dag_id in UNPAUSED:
            airflow.unpause(dag_id)
        tell(airflow, servers, splunk)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        airflow.stop()
        splunk.stop()
        for server in servers:
            server.stop(kill=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
