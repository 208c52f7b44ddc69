"""Where the library's functions were before each job got a module: now ``from copydicom_provider import ...``.

``from copydicom_provider.core import replicate`` keeps working; the code is in :mod:`copydicom_provider.jobs`.
"""

from __future__ import annotations

from typing import Any

import copydicom_provider

__all__ = [name for name in copydicom_provider.__all__ if name != "__version__"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(copydicom_provider, name)
