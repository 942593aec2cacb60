"""The outside systems the example pipelines read (event log, shop, partner), at PIPELINE_SOURCE_URL.

Development points it at the local fixture server (devtools/fixture_server.py, devtools/pipeline_fixtures.py).
"""

from __future__ import annotations

import os
from typing import Any

TIMEOUT = 15  # seconds; a slow source fails the try and the task's retries take over


def source_url(path: str) -> str:
    base = os.environ.get("PIPELINE_SOURCE_URL", "").rstrip("/")
    if not base:
        raise RuntimeError("PIPELINE_SOURCE_URL is not set: where the example pipelines read events, orders and "
                           "partner deliveries (development: the fixture server)")
    return base + path


def get_json(path: str, **params: Any) -> Any:
    """GET one JSON document; an HTTP error raises with the status and the URL (without credentials)."""
    import requests

    url = source_url(path)
    response = requests.get(url, params=params, timeout=TIMEOUT, headers={"Accept": "application/json"})
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
    return response.json()
