"""Airflow's REST API (v2) as the dashboard reads it: a read-only Viewer login (POST /auth/token -> JWT), and the
few list calls its panels need, batched: a page of runs across every DAG (/dags/~/dagRuns) answers what one
call per DAG or per day used to, and the narrower calls are made only when that page cannot hold everything.
`calls` counts the HTTP requests made. Any failure raises SourceError naming Airflow's API."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import requests

from dashboard.sources import SourceError

PAGE = 100  # Airflow's [api] maximum_page_limit default


class Airflow:
    def __init__(self, url: str, username: str, password: str, timeout: float):
        self.url = url.rstrip("/")
        self.username, self.password = username, password
        self.timeout = timeout
        self.session = requests.Session()
        self.token: str | None = None
        self.failure: SourceError | None = None
        self.calls = 0

    def _fail(self, sentence: str) -> SourceError:
        self.failure = SourceError(f"the Airflow API at {self.url} {sentence}")
        return self.failure

    def _login(self) -> str:
        self.calls += 1
        try:
            response = self.session.post(f"{self.url}/auth/token", timeout=self.timeout,
                                         json={"username": self.username, "password": self.password})
        except requests.RequestException as error:
            raise self._fail(f"is unreachable ({type(error).__name__})") from None
        if response.status_code not in (200, 201):
            raise self._fail(f"refused the dashboard's login {self.username!r} (HTTP {response.status_code})")
        return response.json()["access_token"]

    def get(self, path: str, **params) -> dict:
        if self.failure:
            raise self.failure
        for attempt in (1, 2):
            self.token = self.token or self._login()
            self.calls += 1
            try:
                response = self.session.get(f"{self.url}/api/v2{path}", params=params, timeout=self.timeout,
                                            headers={"Authorization": f"Bearer {self.token}"})
            except requests.RequestException as error:
                raise self._fail(f"is unreachable ({type(error).__name__})") from None
            if response.status_code == 401 and attempt == 1:
                self.token = None  # an expired token: log in once more
                continue
            if response.status_code != 200:
                raise SourceError(f"the Airflow API at {self.url} answered HTTP {response.status_code} to GET "
                                  f"/api/v2{path}")
            return response.json()
        raise self._fail("refused the dashboard's token")

    def count_runs(self, state: str, after: datetime, before: datetime) -> int:
        """DAG runs of every DAG in `state` whose run_after is in [after, before]."""
        page = self.get("/dags/~/dagRuns", state=state, run_after_gte=after.isoformat(),
                        run_after_lte=before.isoformat(), limit=1)
        return int(page.get("total_entries", 0))

    def dag_ids(self) -> list[str]:
        ids: list[str] = []
        while True:
            page = self.get("/dags", limit=PAGE, offset=len(ids), exclude_stale="true", order_by="dag_id")
            ids += [dag["dag_id"] for dag in page.get("dags") or []]
            if not page.get("dags") or len(ids) >= page.get("total_entries", 0):
                return ids

    def last_success(self, dag_id: str) -> str | None:
        """The end date (ISO) of the DAG's newest successful run, or None."""
        page = self.get(f"/dags/{quote(dag_id, safe='')}/dagRuns", state="success", order_by="-end_date", limit=1)
        runs = page.get("dag_runs") or []
        return runs[0].get("end_date") if runs else None

    def last_successes(self, dag_ids: list[str]) -> dict[str, str | None]:
        """dag_id -> the end date (ISO) of its newest successful run, or None: one page of the newest successes
        of every DAG, then one call for each DAG not on it (none when the page holds every success there is)."""
        page = self.get("/dags/~/dagRuns", state="success", order_by="-end_date", limit=PAGE)
        runs = page.get("dag_runs") or []
        newest: dict[str, str | None] = {}
        for run in runs:
            newest.setdefault(run.get("dag_id"), run.get("end_date"))
        every_success = len(runs) >= page.get("total_entries", 0)
        return {dag_id: newest.get(dag_id) if dag_id in newest or every_success else self.last_success(dag_id)
                for dag_id in dag_ids}

    def runs_in_state(self, state: str, after: datetime, before: datetime) -> list[dict] | None:
        """Every DAG's runs in `state` whose run_after is in [after, before], if one page holds them all (else
        None: count them with count_runs)."""
        page = self.get("/dags/~/dagRuns", state=state, run_after_gte=after.isoformat(),
                        run_after_lte=before.isoformat(), order_by="run_after", limit=PAGE)
        runs = page.get("dag_runs") or []
        return runs if len(runs) >= page.get("total_entries", 0) else None

    def runs(self, dag_id: str, after: datetime) -> list[dict]:
        """The DAG's runs whose run_after is at or after `after`."""
        found: list[dict] = []
        while True:
            page = self.get(f"/dags/{quote(dag_id, safe='')}/dagRuns", run_after_gte=after.isoformat(),
                            order_by="run_after", limit=PAGE, offset=len(found))
            found += page.get("dag_runs") or []
            if not page.get("dag_runs") or len(found) >= page.get("total_entries", 0):
                return found

    def longest_tasks(self, after: datetime, limit: int = PAGE) -> list[dict]:
        """Task instances that ended after `after`, longest first."""
        page = self.get("/dags/~/dagRuns/~/taskInstances", end_date_gte=after.isoformat(), order_by="-duration",
                        limit=limit)
        return [ti for ti in page.get("task_instances") or [] if ti.get("duration") is not None]
