"""Soak: run a short DAG every 10 s for an hour while the webhook deploys a new commit every 5 minutes.

    PYTHONPATH=. .venv/bin/python -m benchmarks.soak [--minutes 60] [--every 10] [--deploy-every 300]

Starts a native stack of its own in GitOps mode (a local bare origin), then reports: runs lost (not `success`
within 5 minutes of their trigger; goal 0), trigger -> success p50/p99, and how the stack's memory (PSS of
all its processes), open files and database size grew per hour after the first 10 minutes (warm-up; goal:
flat). A sample line is printed every minute, so a long run can be watched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import threading
import time
import uuid
from contextlib import ExitStack

import psutil

from benchmarks.deploy_latency import Bench, percentile
from benchmarks.processes import members, pss_of
from stacktest.compose import make_origin
from stacktest.native import NativeStack, new_state_dir

DAG = "stack-smoke"
RUN_LIMIT = 300.0  # a run not successful this long after its trigger counts as lost
WARM_UP = 600.0


def open_files(pids: set[int]) -> int:
    count = 0
    for pid in pids:
        try:
            count += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
    return count


def database_mib(stack: NativeStack) -> float:
    """Size of the Airflow and result databases, asked through psql over the private socket."""
    sockets = stack.state_dir / "postgres" / "run"
    total = 0.0
    for database in ("airflow", "celery_results"):
        result = subprocess.run(["psql", "-h", str(sockets), "-p", stack.settings["POSTGRES_PORT"], "-U", "airflow",
                                 "-d", "airflow", "-tAc", f"SELECT pg_database_size('{database}')"],
                                env={**os.environ, "PGPASSWORD": stack.settings["POSTGRES_PASSWORD"]},
                                capture_output=True, text=True)
        total += int(result.stdout.strip() or 0) / 2**20
    return total


def sample(stack: NativeStack) -> dict:
    pids = {m.pid for m in members(stack.state_dir)}
    return {"at": time.monotonic(), "pss": pss_of(pids), "files": open_files(pids), "db": database_mib(stack),
            "processes": len(pids)}


class Runs:
    """Triggers one run every `every` s and follows each to its end, in threads."""

    def __init__(self, stack: NativeStack):
        self.stack, self.lock = stack, threading.Lock()
        self.durations: list[float] = []
        self.lost: list[str] = []

    def follow(self, run_id: str, started: float) -> None:
        try:
            state = self.stack.wait_run(DAG, run_id, timeout=RUN_LIMIT)
        except TimeoutError:
            state = "timed out"
        with self.lock:
            if state == "success":
                self.durations.append(time.monotonic() - started)
            else:
                self.lost.append(f"{run_id}: {state}")

    def trigger(self) -> threading.Thread:
        started = time.monotonic()
        try:
            run_id = self.stack.trigger_dag(DAG)
        except Exception as error:  # noqa: BLE001 - a refused trigger is a lost run, and the soak goes on
            with self.lock:
                self.lost.append(f"trigger refused: {error}")
            return threading.Thread()
        thread = threading.Thread(target=self.follow, args=(run_id, started), daemon=True)
        thread.start()
        return thread


def growth_per_hour(samples: list[dict], key: str) -> float:
    """Least-squares slope over the samples after the warm-up: one noisy sample cannot make a trend."""
    after = [s for s in samples if s["at"] - samples[0]["at"] >= WARM_UP]
    if len(after) < 3:
        return float("nan")
    slope, _ = statistics.linear_regression([s["at"] for s in after], [s[key] for s in after])
    return slope * 3600


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--every", type=float, default=10, help="seconds between runs")
    parser.add_argument("--deploy-every", type=float, default=300, help="seconds between deploys")
    args = parser.parse_args()
    with ExitStack() as exits:
        state_dir = new_state_dir()
        # inside the state folder, which `up` hands to the stack's user (it fetches from here)
        origin = make_origin(state_dir / "soak-origin", owner=None)
        env = {"DAG_SOURCE": "gitops", "DEPLOY_REPO_URL": str(origin.bare)}
        stack = exits.enter_context(NativeStack.running(env, state_dir))
        bench = Bench(stack.url("webhook"), stack.url("airflow"), origin.bare, stack.settings["WEBHOOK_KEY"],
                      *stack.admin, f"soak_{uuid.uuid4().hex[:6]}")
        runs, samples, deploys_failed, deploys = Runs(stack), [sample(stack)], 0, 0
        begin = next_run = next_deploy = next_sample = time.monotonic()
        end = begin + args.minutes * 60
        threads = []
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_run:
                threads.append(runs.trigger())
                next_run += args.every
            if now >= next_deploy:
                commit = bench.commit(f"soak-{deploys}")
                bench.post(commit)
                deploys += 1
                deploys_failed += 0 if bench.visible(commit) else 1
                next_deploy += args.deploy_every
            if now >= next_sample:
                samples.append(sample(stack))
                s = samples[-1]
                print(f"{(now - begin) / 60:5.1f} min  runs ok {len(runs.durations)} lost {len(runs.lost)}  "
                      f"deploys {deploys} (failed {deploys_failed})  PSS {s['pss']:.0f} MiB  open files "
                      f"{s['files']}  db {s['db']:.1f} MiB  processes {s['processes']}", flush=True)
                next_sample += 60
            time.sleep(0.2)
        for thread in threads:
            if thread.is_alive():
                thread.join(RUN_LIMIT)
        samples.append(sample(stack))
        durations = runs.durations or [float("nan")]
        print(f"\nsoak {args.minutes:.0f} min, a run every {args.every:.0f} s, a deploy every "
              f"{args.deploy_every:.0f} s")
        print(f"runs: {len(runs.durations)} succeeded, {len(runs.lost)} lost (goal 0)")
        for line in runs.lost[:20]:
            print(f"  lost {line}")
        print(f"trigger -> success: p50 {percentile(durations, 50):.2f} s, p99 {percentile(durations, 99):.2f} s")
        print(f"deploys: {deploys}, not visible in time: {deploys_failed}")
        print(f"growth per hour after {WARM_UP / 60:.0f} min warm-up: PSS {growth_per_hour(samples, 'pss'):+.1f} "
              f"MiB, open files {growth_per_hour(samples, 'files'):+.0f}, database "
              f"{growth_per_hour(samples, 'db'):+.2f} MiB")
        print(f"processes: {samples[0]['processes']} at the start, {samples[-1]['processes']} at the end; "
              f"psutil {psutil.__version__}")
        return 0 if not runs.lost else 1


if __name__ == "__main__":
    raise SystemExit(main())
