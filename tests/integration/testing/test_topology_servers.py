"""The private PostgreSQL and Redis instances of the topology harness: loopback, passwords, stopped by PID."""

from __future__ import annotations

import os
import socket

import pytest

from copydicom_provider.testing import postgres_server, redis_server
from copydicom_provider.testing.postgres_server import PostgresServer
from copydicom_provider.testing.redis_server import RedisServer

pytestmark = pytest.mark.timeout(120)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.skipif(not postgres_server.available(), reason="Debian's postgresql is not installed")
def test_postgres_runs_privately_needs_its_password_and_is_stopped_by_pid():
    psycopg2 = pytest.importorskip("psycopg2")
    server = PostgresServer().start()
    pid, directory = server.process.pid, server.directory
    try:
        assert server.password not in repr(server)
        with server._connect(server.database) as connection, connection.cursor() as cursor:
            cursor.execute("SHOW listen_addresses")
            assert cursor.fetchone()[0] == "127.0.0.1"
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(host="127.0.0.1", port=server.port, user=server.user, password="wrong",
                             dbname=server.database, connect_timeout=5)
    finally:
        server.stop()
    assert _gone(pid) and not directory.exists()


@pytest.mark.skipif(not redis_server.available(), reason="Debian's redis-server is not installed")
def test_redis_runs_privately_needs_its_password_and_is_stopped_by_pid():
    server = RedisServer().start()
    pid, directory = server.process.pid, server.directory
    try:
        assert server.password not in repr(server)
        assert server.ping()
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
            conn.sendall(b"PING\r\n")
            assert conn.recv(256).startswith(b"-NOAUTH")
        assert server.password not in " ".join(server.process.args)  # not visible in ps
    finally:
        server.stop()
    assert _gone(pid) and not directory.exists()
