"""A requests session for outside calls: our User-Agent, bounded retries on 5xx, no waiting on Retry-After."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


def make_session(user_agent: str, retries: int = 2, backoff: float = 0.5) -> requests.Session:
    """Retry GETs on connection errors and 500/502/503/504 with a short backoff; return the last answer."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
        # NWS can ask for long pauses; Airflow's task retry is the place for those, not a blocked worker.
        respect_retry_after_header=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session
