"""The ``copydicom`` command: the jobs from a shell (``app``), its URLs (``urls``) and option values (``values``)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``copydicom`` script; imports the command's modules only when run."""
    from copydicom_provider.cli.app import main as run

    return run(argv)
