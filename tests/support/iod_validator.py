"""dciodvfy (dicom3tools' IOD validator) as a test helper: a de-identified copy may add no validity error.

Why: a de-identifier that removes Type 1 or Type 2 attributes, or empties sequences the IOD
requires, produces files other software rejects. The original's own errors are the baseline (real
files are rarely perfect); only errors the copy has beyond them count. Messages are normalised so
that a value the de-identifier changed (a date, a UID) does not make the same error look new.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pydicom
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

#: What differs between an original's and its copy's message for the same error: values, lengths.
VALUE_PARTS = [re.compile(r"= <[^>]*>"), re.compile(r"= '[^']*' \(0x[0-9a-fA-F]+\)"), re.compile(r"= \d+")]


def available() -> bool:
    return shutil.which("dciodvfy") is not None


def errors(data: bytes) -> Counter[str]:
    """dciodvfy's error lines for a Part 10 file, normalised, with how often each occurs.

    dciodvfy cannot read a deflated data set (it parses the compressed bytes as tags), so a deflated
    file is inflated first, in explicit VR little endian: the attributes are what it checks.
    """
    data = _inflated(data)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "instance.dcm"
        path.write_bytes(data)
        run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace", timeout=120)
    return Counter(normalise(line) for line in (run.stdout + run.stderr).splitlines() if "Error" in line)


def _inflated(data: bytes) -> bytes:
    dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    if getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None) != DeflatedExplicitVRLittleEndian:
        return data
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def normalise(line: str) -> str:
    for pattern in VALUE_PARTS:
        line = pattern.sub("= <value>", line)
    return " ".join(line.split())


def new_errors(original: bytes, copy: bytes) -> list[str]:
    """Errors of the copy that the original does not have (each extra occurrence counts)."""
    extra = errors(copy) - errors(original)
    return sorted(extra.elements())
