"""The Airflow REST calls the dashboard makes (dashboard/airflow.py), answered from the fixture's week of runs
(history.py) with Airflow 3's response shapes; the real API is read by tests/dashboard/test_browser.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

from devtools.background import BackgroundServer, FakeHandler, Request
from tests.dashboard import history

USERNAME, PASSWORD = "dashboard", "viewer-password-for-tests"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


class FakeAirflow(BackgroundServer):
    """`with FakeAirflow(now) as fake:`; `fake.url`."""

    def __init__(self, now: float):
        super().__init__(_Handler)
        self.runs = [{"dag_id": dag_id, "dag_run_id": f"scheduled__{iso(t)}", "state": state, "run_after": iso(t - 30),
                      "start_date": iso(t - 30), "end_date": iso(t)}
                     for dag_id, done in history.finished(now).items() for t, state in done]
        self.runs.append({"dag_id": "orders_upsert", "dag_run_id": "manual__now", "state": "running",
                          "run_after": iso(now - 60), "start_date": iso(now - 60), "end_date": None})
        self.tasks = []
        for (dag_id, task_id), seconds in history.TASKS.items():
            done = [t for t, _ in history.finished(now)[dag_id] if t > now - 2 * 86400]
            for i, t in enumerate(done):
                longer = 10 if i == len(done) - 1 else 0
                self.tasks.append({"dag_id": dag_id, "task_id": task_id, "duration": seconds + longer,
                                   "end_date": iso(t), "state": "success"})


def _at(value: str | None) -> float:
    return datetime.fromisoformat(value).timestamp() if value else 0.0


class _Handler(FakeHandler):
    def respond(self, request: Request) -> None:
        url = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if request.method == "POST" and url.path == "/auth/token":
            body = json.loads(request.body or b"{}")
            if (body.get("username"), body.get("password")) == (USERNAME, PASSWORD):
                return self._json(201, {"access_token": "viewer-jwt"})
            return self._json(401, {"detail": "Invalid credentials"})
        if request.headers.get("authorization") != "Bearer viewer-jwt":
            return self._json(401, {"detail": "Not authenticated"})
        limit, offset = int(query.get("limit", 50)), int(query.get("offset", 0))
        path = unquote(url.path)
        if path == "/api/v2/dags":
            ids = sorted({run["dag_id"] for run in self.fake.runs})
            dags = [{"dag_id": dag_id, "is_paused": False} for dag_id in ids]
            return self._json(200, {"dags": dags[offset:offset + limit], "total_entries": len(dags)})
        if path.startswith("/api/v2/dags/") and path.endswith("/dagRuns"):
            dag_id = path.split("/")[4]
            runs = [r for r in self.fake.runs if dag_id in ("~", r["dag_id"])
                    and query.get("state", r["state"]) == r["state"]
                    and _at(query.get("run_after_gte")) <= _at(r["run_after"])
                    and _at(r["run_after"]) <= (_at(query.get("run_after_lte")) or float("inf"))]
            key = query.get("order_by", "run_after")
            runs.sort(key=lambda r: _at(r[key.lstrip("-")]), reverse=key.startswith("-"))
            return self._json(200, {"dag_runs": runs[offset:offset + limit], "total_entries": len(runs)})
        if path == "/api/v2/dags/~/dagRuns/~/taskInstances":
            tis = [ti for ti in self.fake.tasks if _at(ti["end_date"]) >= _at(query.get("end_date_gte"))]
            assert query.get("order_by") == "-duration"
            tis.sort(key=lambda ti: -ti["duration"])
            return self._json(200, {"task_instances": tis[offset:offset + limit], "total_entries": len(tis)})
        return self._json(404, {"detail": "Not Found"})
