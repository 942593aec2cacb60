"""Fixtures for the dagutils tests: the DAG folder on sys.path and the fake Connect/Slack servers."""

from __future__ import annotations

import sys
from pathlib import Path

# The DAG processor puts the bundle's dags folder on sys.path; tests do the same so `dagutils` imports.
DAGS = str(Path(__file__).resolve().parents[2] / "dags")
if DAGS not in sys.path:
    sys.path.insert(0, DAGS)

