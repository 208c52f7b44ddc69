"""The transfer modes' names, without Airflow: the CLI's ``--mode`` choices are read from here.

Why a module of its own: ``copydicom --help`` lists them and must answer without importing the copy code
(which imports Airflow through the Orthanc hook).
"""

from __future__ import annotations

#: ``rest``: through the worker (GET + POST); ``peer``: the source pushes to the destination.
TRANSFER_MODES: tuple[str, ...] = ("rest", "peer")
