"""``python -m copydicom_provider.cli``: the ``copydicom`` script, for a checkout without it on the PATH."""

from __future__ import annotations

import sys

from copydicom_provider.cli import main

sys.exit(main())
