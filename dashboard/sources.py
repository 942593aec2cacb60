"""The dashboard's two sources, read over HTTP on the internal network: Prometheus' query API and the deploy
webhook's status (JSON). A source that cannot be read raises SourceError, whose message names it."""

from __future__ import annotations

import math

import requests


class SourceError(RuntimeError):
    """A source did not answer as expected; the message names the source and says what went wrong."""


class Prometheus:
    """GET /api/v1/query and /api/v1/query_range. After one failure it is not asked again for the same page,
    so an unreachable Prometheus costs one timeout, not one per panel."""

    def __init__(self, url: str, timeout: float):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.failure: SourceError | None = None

    def _get(self, path: str, params: dict) -> list[dict]:
        if self.failure:
            raise self.failure
        try:
            response = self.session.get(f"{self.url}{path}", params=params, timeout=self.timeout)
            body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") \
                else {}
        except (requests.RequestException, ValueError) as error:
            self.failure = SourceError(f"Prometheus at {self.url} is unreachable ({type(error).__name__})")
            raise self.failure from None
        if response.status_code != 200 or body.get("status") != "success":
            # a bad query is ours, not Prometheus' fault: only this panel fails
            raise SourceError(f"Prometheus at {self.url} answered HTTP {response.status_code}: "
                              f"{str(body.get('error', ''))[:200]}")
        return body["data"]["result"]

    def instant(self, query: str, at: float | None = None) -> list[tuple[dict, float]]:
        """(labels, value) of each series of an instant query; NaN values left out."""
        params = {"query": query, **({"time": f"{at:.3f}"} if at is not None else {})}
        rows = [(item["metric"], float(item["value"][1])) for item in self._get("/api/v1/query", params)]
        return [(labels, value) for labels, value in rows if not math.isnan(value)]

    def series(self, query: str, start: float, end: float, step: float) -> list[tuple[dict, list[tuple[float, float]]]]:
        """(labels, [(time, value)]) of each series of a range query; NaN points left out."""
        data = self._get("/api/v1/query_range", {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                 "step": f"{step:g}"})
        out = []
        for item in data:
            points = [(float(t), float(v)) for t, v in item["values"] if not math.isnan(float(v))]
            if points:
                out.append((item["metric"], points))
        return out


def deploys(webhook_url: str, timeout: float) -> dict:
    """The webhook's status snapshot (public fields only): deployed commit and the last deploys, newest first."""
    url = webhook_url.rstrip("/") + "/"
    try:
        response = requests.get(url, params={"format": "json"}, timeout=timeout)
        response.raise_for_status()
        return response.json()
    except requests.HTTPError as error:
        raise SourceError(f"the deploy webhook at {url} answered HTTP {error.response.status_code}") from None
    except (requests.RequestException, ValueError) as error:
        raise SourceError(f"the deploy webhook at {url} is unreachable ({type(error).__name__})") from None
