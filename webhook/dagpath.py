"""Make the shared DAG code (`dagutils`, versioned under dags/) importable by the webhook."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

DAGS_DIR = Path(__file__).resolve().parent.parent / "dags"


def import_dagutils(name: str) -> ModuleType:
    """Import `dagutils.<name>` lazily; raises ImportError when it is missing or broken."""
    if str(DAGS_DIR) not in sys.path:
        # Appended, not prepended: nothing under dags/ may shadow an installed package.
        sys.path.append(str(DAGS_DIR))
    return importlib.import_module(f"dagutils.{name}")
