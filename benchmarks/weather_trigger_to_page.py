"""Benchmark weather-checker: REST trigger through HAProxy until the diagnostics page shows that run.

Run by hand (not a test):
  .venv/bin/python -m benchmarks.weather_trigger_to_page --runs 10
      starts a fresh native stack in a temporary folder, measures, stops it;
  .venv/bin/python -m benchmarks.weather_trigger_to_page --airflow-url http://127.0.0.1:8080 \\
      --diagnostics-url http://127.0.0.1:8083 --user admin --password ...
      measures a stack that is already running.
Prints a Markdown table for documentation/benchmarks.md (goal: page updated within 15 s of the trigger).
The stack must reach NWS and the camera, or (offline) point NWS_BASE_URL/CAMERA_URL_PATTERN at
devtools.fixture_server.
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from stacktest.api import StackApi

DAG_ID = "weather-checker"


class RunningStack(StackApi):
    """A stack someone else started: its public URLs and an admin login."""

    def __init__(self, airflow_url: str, diagnostics_url: str, user: str, password: str):
        self.airflow_url, self.diagnostics_url = airflow_url.rstrip("/"), diagnostics_url.rstrip("/")
        self.admin = (user, password)

    def url(self, name: str) -> str:
        return self.diagnostics_url if name == "diagnostics" else self.airflow_url


def page_run_id(stack) -> str | None:
    try:
        return requests.get(stack.url("diagnostics") + "/latest.json", timeout=5).json().get("run_id")
    except (requests.RequestException, ValueError):
        return None


def one_run(stack) -> tuple[float, float, str]:
    """Seconds from the trigger until the page shows the run, and until the run has finished."""
    begin = time.monotonic()
    run_id = stack.trigger_dag(DAG_ID)
    page_at = None
    while page_at is None and time.monotonic() - begin < 180:
        if page_run_id(stack) == run_id:
            page_at = time.monotonic() - begin
        else:
            time.sleep(0.1)
    state = stack.wait_run(DAG_ID, run_id, timeout=180)
    if page_at is None:
        raise TimeoutError(f"the page never showed run {run_id}")
    return page_at, time.monotonic() - begin, state


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure(stack, runs: int) -> tuple[list[float], list[float], list[str]]:
    one_run(stack)  # warm-up: the first run pays for the execution API and worker imports
    pages, finishes, states = [], [], []
    for _ in range(runs):
        page, finish, state = one_run(stack)
        pages.append(page)
        finishes.append(finish)
        states.append(state)
    return pages, finishes, states


def row(label: str, values: list[float]) -> str:
    numbers = (statistics.median(values), percentile(values, 95), min(values), max(values))
    return f"| {label} | " + " | ".join(f"{n:.2f}" for n in numbers) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description="weather-checker trigger-to-page latency")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--airflow-url", help="public Airflow URL of a running stack (default: start one)")
    parser.add_argument("--diagnostics-url", help="public diagnostics URL of that stack")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password")
    args = parser.parse_args()
    stop = None
    if args.airflow_url:
        if not (args.diagnostics_url and args.password):
            parser.error("--airflow-url needs --diagnostics-url and --password")
        stack = RunningStack(args.airflow_url, args.diagnostics_url, args.user, args.password)
    else:
        from stacktest.native import NativeStack, new_state_dir

        stack = NativeStack.start(new_state_dir())
        stop = stack.stop
    try:
        pages, finishes, states = measure(stack, args.runs)
    finally:
        if stop:
            stop()
    print(f"weather-checker, {args.runs} runs after one warm-up, through HAProxy and Celery "
          f"(run states: {', '.join(sorted(set(states)))})\n")
    print("| measure | p50 s | p95 s | min s | max s |")
    print("|---|---|---|---|---|")
    print(row("trigger to page updated (latest.json shows the run)", pages))
    print(row("trigger to run finished (verdict done)", finishes))
    print(f"\ngoal: page updated within 15 s; p95 {'meets' if percentile(pages, 95) <= 15 else 'misses'} it")


if __name__ == "__main__":
    main()
