"""Compose beside native, measured in one run: cold start, memory, trigger -> success, deploy POST -> visible.

Run by hand (not a test), with a Docker engine running and the images built (`python -m tests.compose.images.build`
and `docker compose build`):
    .venv/bin/python -m benchmarks.compose_benchmark --runs 10 --deploys 10
Each stack is fresh (temporary state / new volumes), in GitOps mode on a local bare origin holding this checkout's
DAGs, development profile, worker concurrency 4. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import psutil

from benchmarks.deploy_latency import Bench, percentile
from benchmarks.processes import pss_of, total_pss_mib
from stacktest.compose import ComposeStack, make_origin, test_env
from stacktest.gitrepo import GITCONFIG
from stacktest.native import NativeStack, new_state_dir


def latencies(stack, runs: int) -> list[float]:
    """Trigger -> success of stack-smoke, one run after another, after one warm-up run."""
    stack.wait_run("stack-smoke", stack.trigger_dag("stack-smoke"), timeout=300)
    values = []
    for _ in range(runs):
        begin = time.monotonic()
        assert stack.wait_run("stack-smoke", stack.trigger_dag("stack-smoke"), timeout=300) == "success"
        values.append(time.monotonic() - begin)
    return values


def deploys(stack, origin: Path, count: int) -> list[float]:
    bench = Bench(stack.url("webhook"), stack.url("airflow"), origin, stack.settings["WEBHOOK_KEY"],
                  *stack.admin, f"bench_{uuid.uuid4().hex[:6]}")
    return [visible for _, visible in bench.run(count) if visible is not None]


def compose_pss_mib(stack: ComposeStack) -> tuple[float, int]:
    """PSS of every process in the project's containers, read on the host like the native figure."""
    ids = stack.compose("ps", "--quiet").stdout.split()
    pids = set()
    for container in ids:
        pid = int(subprocess.run([stack.docker, "inspect", "--format", "{{.State.Pid}}", container],
                                 capture_output=True, text=True, check=True).stdout)
        root = psutil.Process(pid)
        pids.update([pid, *(child.pid for child in root.children(recursive=True))])
    return pss_of(pids), len(pids)


def docker_stats_mib(stack: ComposeStack) -> float:
    """Sum of `docker stats` memory usage (the cgroup's figure, page cache excluded) over the project."""
    ids = stack.compose("ps", "--quiet").stdout.split()
    out = subprocess.run([stack.docker, "stats", "--no-stream", "--format", "{{.MemUsage}}", *ids],
                         capture_output=True, text=True, check=True).stdout
    units = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "B": 1 / 2**20}
    total = 0.0
    for line in out.splitlines():
        used = line.split("/")[0].strip()
        number = used.rstrip("KMGiB")
        total += float(number) * units[used[len(number):]]
    return total


def native(exits: ExitStack, args) -> dict:
    state_dir = new_state_dir()
    # inside the state folder, which `up` hands to the stack's user (it fetches from here)
    origin = make_origin(state_dir / "bench-origin", owner=None)
    started = time.monotonic()
    stack = exits.enter_context(NativeStack.running({"DAG_SOURCE": "gitops", "DEPLOY_REPO_URL": str(origin.bare)},
                                                    state_dir))
    cold = time.monotonic() - started
    runs = latencies(stack, args.runs)
    time.sleep(2)
    pss, processes = total_pss_mib(state_dir)
    return {"cold": cold, "runs": runs, "pss": pss, "processes": processes, "stats": None,
            "deploys": deploys(stack, origin.bare, args.deploys)}


def compose(exits: ExitStack, args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-compose-"))
    workdir.chmod(0o755)
    exits.callback(shutil.rmtree, workdir, ignore_errors=True)
    origin = make_origin(workdir)
    stack = ComposeStack(f"gitops-bench-{uuid.uuid4().hex[:6]}", workdir, test_env())
    stack.write(origin.bare)
    stack.compose("build", "--quiet", timeout=1800)  # images built: not part of the cold start
    exits.callback(stack.down)
    stack.up()
    runs = latencies(stack, args.runs)
    time.sleep(2)
    pss, processes = compose_pss_mib(stack)
    return {"cold": stack.up_seconds, "runs": runs, "pss": pss, "processes": processes,
            "stats": docker_stats_mib(stack), "deploys": deploys(stack, origin.bare, args.deploys)}


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"{min(values):.2f} / {statistics.median(values):.2f} / {percentile(values, 95):.2f} / "
            f"{max(values):.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--deploys", type=int, default=10)
    args = parser.parse_args()
    os.environ["GIT_CONFIG_GLOBAL"] = str(GITCONFIG)  # the benchmark pushes into an origin owned by uid 50000
    results = {}
    for name, start in (("native", native), ("compose", compose)):
        with ExitStack() as exits:
            print(f"{name}: starting", file=sys.stderr)
            results[name] = start(exits, args)
    n, c = results["native"], results["compose"]
    print("| measure | native | compose |")
    print("|---|---|---|")
    print(f"| cold start to all healthy (fresh state / new volumes; venv / images built) | {n['cold']:.1f} s | "
          f"{c['cold']:.1f} s |")
    print(f"| memory, whole stack, PSS of every process | {n['pss']:.0f} MiB ({n['processes']} processes) | "
          f"{c['pss']:.0f} MiB ({c['processes']} processes) |")
    print(f"| memory, `docker stats` sum | — | {c['stats']:.0f} MiB |")
    print(f"| trigger → success, stack-smoke, {args.runs} runs: min / p50 / p95 / max | {spread(n['runs'])} | "
          f"{spread(c['runs'])} |")
    print(f"| deploy POST → DAG visible, {args.deploys} deploys: min / p50 / p95 / max | {spread(n['deploys'])} | "
          f"{spread(c['deploys'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
