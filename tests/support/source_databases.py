"""What happens to a source Orthanc's database in the field: replaced by a new one, or restored from a backup."""

from __future__ import annotations

import shutil
from pathlib import Path

from copydicom_provider.testing.orthanc_server import OrthancServer


def storage(server: OrthancServer) -> Path:
    """Index and files, one folder (``StorageDirectory`` = ``IndexDirectory``)."""
    return Path(server.config()["StorageDirectory"])


def replace_database(server: OrthancServer) -> None:
    """A new, empty database on the same ports: its change log counts from 1 again."""
    server.stop(kill=True)
    shutil.rmtree(storage(server), ignore_errors=True)
    server.start()


def take_backup(server: OrthancServer, to: Path) -> Path:
    """Copy the stopped server's database, as an operator's backup would, and start it again."""
    server.stop()  # graceful: the index is complete on disk
    shutil.copytree(storage(server), to)
    server.start()
    return to


def restore_backup(server: OrthancServer, backup: Path) -> None:
    """Put the backup back in place of the current database (what was received since is gone)."""
    server.stop(kill=True)
    shutil.rmtree(storage(server), ignore_errors=True)
    shutil.copytree(backup, storage(server))
    server.start()
