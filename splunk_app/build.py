"""Package the Splunk app: ``splunk_app/copydicom`` plus the provider's reference-level table -> ``.tgz``.

The lookup CSVs are kept once, in the Python package (the quarterly report reads it too), and copied
into ``lookups/`` here. The archive is reproducible: sorted entries, fixed times and owners, modes
644/755, no hidden or compiled files.
"""

from __future__ import annotations

import argparse
import gzip
import io
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE / "copydicom"
REPORTS = HERE.parent / "copydicom_provider" / "reports"
#: The lookup (UK national levels, attributed) and its empty template, kept once in the Python package.
LOOKUPS = ("dose_reference_levels.csv", "dose_reference_levels_template.csv")
MTIME = 1_700_000_000


def _info(name: str, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
    if directory:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.size, info.mode = size, 0o644
    return info


def members() -> dict[str, bytes | None]:
    """Archive name -> content (None for a directory)."""
    out: dict[str, bytes | None] = {"copydicom": None}
    for path in sorted(APP.rglob("*")):
        relative = path.relative_to(APP)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts) or path.suffix == ".pyc":
            continue
        out[f"copydicom/{relative.as_posix()}"] = None if path.is_dir() else path.read_bytes()
    out["copydicom/lookups"] = None
    for name in LOOKUPS:
        out[f"copydicom/lookups/{name}"] = (REPORTS / name).read_bytes()
    return out


def build(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in sorted(members().items()):
            if content is None:
                archive.addfile(_info(name, directory=True))
            else:
                archive.addfile(_info(name, len(content)), io.BytesIO(content))
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=MTIME) as packed:
        packed.write(buffer.getvalue())
    partial.replace(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the .tgz to write")
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()
