"""Deploy latency: POST answer time and POST -> DAG visible at the new commit through the Airflow API.

Against a running stack (the origin is the bare repository the webhook fetches, DEPLOY_REPO_URL):
  python benchmarks/deploy_latency.py --webhook http://127.0.0.1:8081 --airflow http://127.0.0.1:8080 \
      --origin .state/origin.git --count 20          # WEBHOOK_KEY, _AIRFLOW_WWW_USER_* from the environment
A fresh native stack in GitOps mode, started in a temporary folder and stopped afterwards (the real chain:
HAProxy, gunicorn, validation, mirror, GitDagBundle, reparse, confirmation):
  python -m benchmarks.deploy_latency --native --count 20
Self-contained (webhook in-process, fake Airflow: the webhook's own share, fetch + validate + publish):
  python benchmarks/deploy_latency.py --local --count 20
Prints a table, and where each deploy's time went (PHASES: the webhook's record of when each stage began, the
DAG processor's last_parsed_time); it is not a test.

Each deploy is POSTed to an idle webhook, as when people merge pull requests minutes apart: the next POST waits
until the previous deploy's record is final, i.e. the webhook has also done what follows the DAG's showing
(waiting for every DAG of the commit, dags/bootstrap.yaml over REST, the Slack message). That tail is timed on its
own (the last phase), not hidden in the next deploy's queue time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
import weakref
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

# stacktest's git trusts every folder (safe.directory=*): the origin belongs to the stack's user, the benchmark
# runs as root
from stacktest.gitrepo import git, good_dag  # noqa: E402
from webhook.auth import signed_headers  # noqa: E402

# Where POST -> visible goes: the webhook's deploy record (when each stage began), the DAG processor's own
# last_parsed_time of the DAG, and the benchmark's own clock (one machine, one clock).
PHASES = (
    ("webhook: POST -> queued", "post", "requested_at"),
    ("runner: queued -> picked up", "requested_at", "fetch"),
    ("fetch from origin", "fetch", "check"),
    ("check (ancestry, commit info, changed paths)", "check", "validate"),
    ("validate (export + DagBag in the validation server)", "validate", "publish"),
    ("publish + parse requests", "publish", "visible"),
    ("DAG processor: parse requested -> DAG parsed", "visible", "parsed"),
    ("client: DAG parsed -> seen through the API", "parsed", "seen"),
    ("after: DAG seen -> deploy record final (not in POST -> visible)", "seen", "finished_at"),
)


def api_time(value: str | None) -> float | None:
    """An Airflow API timestamp as epoch seconds (None stays None)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def add_phases(into: dict[str, list[float]], phases, moments: dict) -> None:
    """Each phase (name, start, end) whose two moments are known, as its duration, appended to `into`."""
    for phase, start, end in phases:
        if moments.get(start) is not None and moments.get(end) is not None:
            into.setdefault(phase, []).append(moments[end] - moments[start])


# A deploy record in one of these states is not final yet.
ACTIVE = frozenset({"queued", "running"})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class Bench:
    def __init__(self, webhook: str, airflow: str, origin: Path, key: str, user: str, password: str,
                 dag_id: str):
        self.webhook, self.airflow = webhook.rstrip("/"), airflow.rstrip("/")
        self.key, self.dag_id = key, dag_id
        self.phases: dict[str, list[float]] = {}
        self.session = requests.Session()
        token = self.session.post(f"{self.airflow}/auth/token", json={"username": user, "password": password},
                                  timeout=30).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.clone = Path(tempfile.mkdtemp(prefix="bench-clone-"))
        weakref.finalize(self, shutil.rmtree, self.clone, True)  # removed with the Bench, or at exit
        git("clone", "--quiet", "--branch", "production", str(origin), str(self.clone), cwd=PROJECT)

    def commit(self, marker: str) -> str:
        path = self.clone / "dags" / f"{self.dag_id}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(good_dag(self.dag_id, marker))
        git("add", "--all", cwd=self.clone)
        git("commit", "--quiet", "-m", f"benchmark {marker}", cwd=self.clone)
        git("push", "--quiet", "origin", "HEAD:production", cwd=self.clone)
        return git("rev-parse", "HEAD", cwd=self.clone).strip()

    def post(self, commit: str) -> float:
        headers = signed_headers(self.key, "deploy", commit, f"bench-{uuid.uuid4().hex}", int(time.time()))
        started = time.perf_counter()
        response = requests.post(f"{self.webhook}/webhook", json={"commit": commit}, timeout=10, headers=headers)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        self.deploy_id = response.json()["deploy_id"]
        return elapsed

    def record(self) -> dict:
        """The webhook's record of the last POSTed deploy."""
        headers = signed_headers(self.key, "status", self.deploy_id, f"bench-{uuid.uuid4().hex}", int(time.time()))
        response = requests.get(f"{self.webhook}/deploys/{self.deploy_id}", headers=headers, timeout=10)
        response.raise_for_status()
        return response.json()

    def final(self, timeout: float = 120) -> dict:
        """Wait until the last POSTed deploy's record is final (the webhook idle again); return it."""
        deadline = time.monotonic() + timeout
        while (record := self.record()).get("state") in ACTIVE and time.monotonic() < deadline:
            time.sleep(0.1)
        if record.get("state") in ACTIVE:
            raise RuntimeError(f"deploy {self.deploy_id} still {record.get('state')} after {timeout:g} s")
        return record

    def split(self, record: dict, posted: float, seen: float) -> None:
        """Add this deploy's phases (self.phases) from the webhook's final record and the DAG's last parse."""
        dag = self.session.get(f"{self.airflow}/api/v2/dags/{self.dag_id}", timeout=10).json()
        moments = {"post": posted, "requested_at": record.get("requested_at"), "seen": seen,
                   "finished_at": record.get("finished_at"), "parsed": api_time(dag.get("last_parsed_time")),
                   **(record.get("stages_began") or {})}
        add_phases(self.phases, PHASES, moments)

    def visible(self, commit: str, timeout: float = 120) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.session.get(f"{self.airflow}/api/v2/dags/{self.dag_id}", timeout=10)
            if response.status_code == 200 and response.json().get("bundle_version") == commit:
                return True
            time.sleep(0.05)
        return False

    def run(self, count: int) -> list[tuple[float, float | None]]:
        # One warm-up deploy so the DAG exists (a brand-new DAG file has no parse token yet).
        first = self.commit("warm-up")
        self.post(first)
        self.visible(first)
        self.final()
        rows = []
        for i in range(count):
            commit = self.commit(f"run-{i}-{uuid.uuid4().hex[:6]}")
            started, posted = time.perf_counter(), time.time()
            answer = self.post(commit)
            ok = self.visible(commit)
            rows.append((answer, time.perf_counter() - started if ok else None))
            record = self.final()
            if ok:
                self.split(record, posted, posted + rows[-1][1])
            result = record.get("state")
            print(f"  {i + 1:2d}/{count}  answer {answer * 1000:6.1f} ms   visible "
                  f"{(rows[-1][1] or float('nan')):6.2f} s   deploy {result}"
                  + ("" if result == "succeeded" else f": {record.get('reason')}"), file=sys.stderr)
        return rows


def phase_table(phases: dict[str, list[float]]) -> str:
    lines = ["Where POST -> visible goes (s): min / p50 / max", "", "| phase | min | p50 | max |", "|---|---|---|---|"]
    for phase, _, _ in PHASES:
        if phases.get(phase):
            values = phases[phase]
            lines.append(f"| {phase} | {min(values):.2f} | {percentile(values, 50):.2f} | {max(values):.2f} |")
    return "\n".join(lines)


def table(rows: list[tuple[float, float | None]], label: str) -> str:
    answers = [a * 1000 for a, _ in rows]
    visible = [v for _, v in rows if v is not None]
    lines = [f"Deploy latency ({label}, {len(rows)} deploys, validation included)", "",
             "| measure | min | p50 | p95 | p99 | max |", "|---|---|---|---|---|---|"]
    def row(name: str, values: list[float], fmt: str) -> str:
        cells = [min(values), *(percentile(values, q) for q in (50, 95, 99)), max(values)]
        return f"| {name} | " + " | ".join(format(c, fmt) for c in cells) + " |"

    lines.append(row("POST answer (ms)", answers, ".1f"))
    if visible:
        lines.append(row("POST -> DAG visible at the commit (s)", visible, ".2f"))
    lines.append(f"\nnot visible within the timeout: {len(rows) - len(visible)}; "
                 f"mean visible {statistics.mean(visible) if visible else float('nan'):.2f} s")
    return "\n".join(lines)


def local_stack(stack: ExitStack) -> dict:
    """Webhook (WSGI server + runner thread) and a fake Airflow on a temporary origin."""
    from werkzeug.serving import make_server

    from stacktest.fake_airflow import FakeAirflow
    from stacktest.gitrepo import Origin
    from webhook import create_app, settings
    from webhook.deploy.runner import Runner

    root = Path(tempfile.mkdtemp(prefix="bench-local-"))
    origin = Origin(root)
    origin.commit({"dags/hello.py": good_dag("hello", "x")}, "initial")
    fake = stack.enter_context(FakeAirflow(root / "state" / "deploy" / "mirror.git"))
    key = "benchmark-key-0123456789abcdef"
    app = create_app({"state_dir": root / "state", "repo_url": origin.url, "webhook_key": key,
                      "start_runner": False, "airflow_url": fake.url, "airflow_username": fake.username,
                      "airflow_password": fake.password, "poll_interval": 0.0})
    runner = Runner(settings.get(app))
    runner.ctx.mirror.publish(runner.ctx.mirror.fetch(), None)
    fake.parse()
    app.extensions["runner"] = runner
    runner.start()
    stack.callback(runner.stop)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(server.shutdown)
    time.sleep(3)  # let the validation server import Airflow, as it does long before a real deploy
    return {"webhook": f"http://127.0.0.1:{server.server_port}", "airflow": fake.url, "origin": origin.bare,
            "key": key, "user": fake.username, "password": fake.password}


def native_stack(stack: ExitStack) -> dict:
    """A fresh native stack in GitOps mode whose origin is a local bare repository."""
    from stacktest.gitrepo import Origin
    from stacktest.native import NativeStack, new_state_dir

    state_dir = new_state_dir()
    # inside the state folder, which `up` hands to the stack's user (it fetches from here)
    origin = Origin(state_dir / "bench-origin")
    origin.commit({"dags/hello.py": good_dag("hello", "x")}, "initial")
    native = stack.enter_context(NativeStack.running({"DAG_SOURCE": "gitops", "DEPLOY_REPO_URL": origin.url},
                                                     state_dir))
    return {"webhook": native.url("webhook"), "airflow": native.url("airflow"), "origin": origin.url,
            "key": native.settings["WEBHOOK_KEY"], "user": native.admin[0], "password": native.admin[1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--webhook", default=os.environ.get("WEBHOOK_URL", "http://127.0.0.1:8081"))
    parser.add_argument("--airflow", default=os.environ.get("AIRFLOW_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--origin", type=Path, default=os.environ.get("DEPLOY_REPO_URL"))
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--dag-id", default="bench_deploy_latency")
    parser.add_argument("--local", action="store_true", help="in-process webhook with a fake Airflow")
    parser.add_argument("--native", action="store_true", help="start a fresh native stack in GitOps mode")
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.local:
            target = local_stack(stack)
            label = "local webhook, fake Airflow"
        elif args.native:
            target = native_stack(stack)
            label = "fresh native stack, through HAProxy"
        else:
            if not args.origin or not os.environ.get("WEBHOOK_KEY"):
                parser.error("--origin (or DEPLOY_REPO_URL) and WEBHOOK_KEY are needed against a stack")
            target = {"webhook": args.webhook, "airflow": args.airflow, "origin": args.origin,
                      "key": os.environ["WEBHOOK_KEY"],
                      "user": os.environ.get("_AIRFLOW_WWW_USER_USERNAME", "admin"),
                      "password": os.environ.get("_AIRFLOW_WWW_USER_PASSWORD", "")}
            label = f"stack at {args.webhook}"
        bench = Bench(target["webhook"], target["airflow"], Path(target["origin"]), target["key"],
                      target["user"], target["password"], args.dag_id)
        print(table(bench.run(args.count), label))
        print()
        print(phase_table(bench.phases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
