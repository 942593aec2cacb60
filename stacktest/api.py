"""The Airflow REST API of a running stack (native or compose), reached through HAProxy as a user would."""

from __future__ import annotations

import time

import requests

# Each public name -> the variable holding its HAProxy port.
PUBLIC = {
    "airflow": "PUBLIC_AIRFLOW_PORT",
    "webhook": "PUBLIC_WEBHOOK_PORT",
    "flower": "PUBLIC_FLOWER_PORT",
    "diagnostics": "PUBLIC_DIAGNOSTICS_PORT",
    "stats": "PUBLIC_STATS_PORT",
    "monitoring": "PUBLIC_MONITORING_PORT",
}


class StackApi:
    """The Airflow REST API of a stack, through HAProxy: needs `url(name)` and `admin` from the subclass."""

    _token: str | None = None

    def api_token(self) -> str:
        if not self._token:
            user, password = self.admin
            response = requests.post(self.url("airflow") + "/auth/token",
                                     json={"username": user, "password": password}, timeout=30)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.api_token()}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url("airflow") + "/api/v2" + path, headers=headers,
                                timeout=kwargs.pop("timeout", 30), **kwargs)

    def wait_dag(self, dag_id: str, timeout: float = 60) -> dict:
        """Wait until the DAG has been parsed and is visible through the API."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.api("GET", f"/dags/{dag_id}")
            if response.status_code == 200:
                return response.json()
            if time.monotonic() > deadline:
                raise TimeoutError(f"DAG {dag_id} not visible after {timeout} s: {response.status_code}")
            time.sleep(0.5)

    def trigger_dag(self, dag_id: str, conf: dict | None = None) -> str:
        """Unpause the DAG and start a run; return its run id."""
        self.wait_dag(dag_id)
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False}).raise_for_status()
        response = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        if response.status_code != 200:
            raise RuntimeError(f"triggering {dag_id}: {response.status_code} {response.text[:500]}")
        return response.json()["dag_run_id"]

    def running_task(self, dag_id: str, settle: float = 8, timeout: float = 180) -> str:
        """Trigger a run of a one-task DAG and return its run id once the task has run `settle` s (the faults
        of tests/faults and the compose layer land there)."""
        run_id = self.trigger_dag(dag_id)
        deadline = time.monotonic() + timeout
        while self.task_instances(dag_id, run_id)[0]["state"] != "running":
            if time.monotonic() > deadline:
                raise TimeoutError(f"the task of {dag_id} run {run_id} never started")
            time.sleep(0.3)
        time.sleep(settle)
        return run_id

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 120) -> str:
        """Wait until the run ends; return its final state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            except requests.RequestException:
                response = None  # the api-server (or HAProxy) restarting: the run goes on, ask again
            if response is not None and response.status_code == 200:
                if response.json()["state"] in ("success", "failed"):
                    return response.json()["state"]
            time.sleep(0.3)
        raise TimeoutError(f"run {run_id} of {dag_id} did not finish within {timeout} s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]


def check_login_is_required(stack: StackApi) -> None:
    """Anonymous API calls and a wrong password are refused through HAProxy; the admin's token works."""
    assert requests.get(stack.url("airflow") + "/api/v2/dags", timeout=10).status_code == 401
    wrong = requests.post(stack.url("airflow") + "/auth/token",
                          json={"username": stack.admin[0], "password": "wrong"}, timeout=30)
    assert wrong.status_code == 401
    assert stack.api("GET", "/dags").status_code == 200
