"""Record shaping is pure: no Airflow anywhere, no network in what shapes records, I/O only in fetch and stream."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SHAPING = ["records.dose", "records.sr_walk", "records.tags", "records.instance", "records.dose_fields",
           "records.concepts", "records.units", "records.size", "dicom.text", "dicom.values", "dicom.sr_items"]


def _imported(name: str) -> list[str]:
    module = importlib.import_module(f"copydicom_provider.{name}")
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    return imported + [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]


@pytest.mark.parametrize("name", [*SHAPING, "records.fetch", "records.stream"])
def test_no_record_module_imports_airflow(name):
    assert not [m for m in _imported(name) if m.split(".")[0] == "airflow"]


@pytest.mark.parametrize("name", SHAPING)
def test_shaping_does_no_io(name):
    io_modules = ("requests", "urllib3", "socket", "http", "copydicom_provider.hooks",
                  "copydicom_provider.records.fetch", "copydicom_provider.records.stream")
    assert not [m for m in _imported(name) if m.startswith(io_modules)]
