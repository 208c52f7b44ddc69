"""Plain functions shared by the operators, the CLI and the library: enumerate, dedupe, copy."""

from copydicom_provider.core.progress import ReplicationSummary
from copydicom_provider.core.replicate import ReplicationFailed, copy_candidates, replicate
from copydicom_provider.core.window import Candidates, Window

__all__ = ["Candidates", "ReplicationFailed", "ReplicationSummary", "Window", "copy_candidates", "replicate"]
