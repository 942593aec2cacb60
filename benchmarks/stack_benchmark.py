"""Every figure of the stack in one run: native with the shipped settings, native with Airflow's defaults, compose.

Run by hand (not a test), on a quiet machine:
    .venv/bin/python -m benchmarks.stack_benchmark --runs 3          # about 25 minutes with compose
    .venv/bin/python -m benchmarks.stack_benchmark --runs 1 --triggers 5 --deploys 3    # a quick check
Each run of each native variant starts a fresh stack in a temporary folder on free ports, in GitOps mode on a local
bare origin holding this checkout's dags/ (development mode: the 1Password, Slack and NWS fakes run and are
counted apart), worker concurrency 4. It measures the cold start (with its timeline), trigger -> success of
stack-smoke through HAProxy, deploy POST -> DAG visible through the webhook, memory (PSS) and idle CPU per
program, and a second `up` on the same state folder. The `compose` variant measures the same of a fresh compose
project (benchmarks/compose_run.py); it needs a Docker engine and the images built, and is left out with a line
saying why when there is none. The variants alternate run by run so a disturbance hits all of them. It prints
Markdown tables (min / median / max over the runs) and records the figures in benchmarks/results.json.
`--set KEY=VALUE` tries a setting on top of every variant (then nothing is recorded).
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import requests
import yaml

from benchmarks import compose_run, processes, results
from benchmarks.deploy_latency import PHASES as DEPLOY_PHASES
from benchmarks.deploy_latency import Bench, add_phases, api_time
from stackctl.settings import PROJECT_DIR
from stacktest.deploys import StackOrigin
from stacktest.deploys import status as deploy_status
from stacktest.gitrepo import GITCONFIG
from stacktest.native import NativeStack, new_state_dir

DAG_ID = "stack-smoke"
# The Airflow settings compose.services.yaml tunes (each `${NAME:-${DEFAULT_NAME}}` there, so a variant can set it):
# the `airflow-defaults` variant sets every one to Airflow's own default. Not here: the deploy machinery's own
# settings (the GitOps bundle, [core] min_serialized_dag_update_interval=0, which lets a deploy show at once),
# which both variants keep.
TUNING = (
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME",
)
GOALS = {  # figure -> (unit, upper limit or None): issue 13
    "cold_start": ("s", 30.0),
    "second_up": ("s", 15.0),
    "memory_pss": ("MiB", 1536.0),
    "memory_pss_dev_fakes": ("MiB", None),
    "memory_pss_engine": ("MiB", None),  # compose only: dockerd, containerd and the shims
    "idle_cpu": ("% of one core", 10.0),
    "idle_cpu_engine": ("% of one core", None),
    "trigger_to_success_p50": ("s", 1.0),
    "trigger_to_success_p95": ("s", 2.0),
    "deploy_to_visible_p50": ("s", 1.5),
    "deploy_to_visible_p95": ("s", None),
}
# Where trigger -> success goes, from the API's own timestamps of each run and its task.
PHASES = (
    ("API: trigger -> run queued", "trigger", "run_queued"),
    ("scheduler: run queued -> running", "run_queued", "run_start"),
    ("scheduler: run running -> task queued", "run_start", "ti_queued"),
    ("Celery + worker: task queued -> started", "ti_queued", "ti_start"),
    ("task: started -> ended", "ti_start", "ti_end"),
    ("scheduler: task ended -> run ended", "ti_end", "run_end"),
    ("client: run ended -> seen through the API", "run_end", "seen"),
)


def airflow_default(name: str) -> str:
    """Airflow's default of AIRFLOW__SECTION__KEY, from the installed Airflow's config template."""
    _, section, key = name.lower().split("__", 2)
    spec = find_spec("airflow")
    if not spec or not spec.submodule_search_locations:
        raise RuntimeError("Airflow is not installed in this Python (run with .venv/bin/python)")
    template = Path(next(iter(spec.submodule_search_locations))) / "config_templates" / "config.yml"
    options = (yaml.safe_load(template.read_text()).get(section) or {}).get("options") or {}
    if key not in options or options[key].get("default") is None:
        raise RuntimeError(f"{name}: Airflow {template} has no default for [{section}] {key}")
    return str(options[key]["default"])


COMPOSE = "compose"  # the variant run as a compose project, with compose's own settings


def variants(only: list[str] | None) -> dict[str, dict[str, str]]:
    every = {"shipped": {}, "airflow-defaults": {name: airflow_default(name) for name in TUNING}, COMPOSE: {}}
    unknown = set(only or ()) - set(every)
    if unknown:
        raise SystemExit(f"--only: no variant {', '.join(sorted(unknown))} (there are {', '.join(every)})")
    chosen = {name: env for name, env in every.items() if not only or name in only}
    if COMPOSE in chosen:
        why = compose_run.unavailable()
        if why and only and COMPOSE in only:
            raise SystemExit(f"--only compose: {why}")
        if why:
            print(f"the compose variant is left out: {why}", file=sys.stderr)
            del chosen[COMPOSE]
    return chosen


@dataclass
class Run:
    """What one run of one variant measured."""

    cold_start: float = 0.0
    second_up: float | None = None  # None: the second `up` failed
    timeline: dict | None = None  # the cold start's, then the second `up`'s
    second_timeline: dict | None = None
    triggers: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)
    deploys: list[float] = field(default_factory=list)
    deploy_phases: dict[str, list[float]] = field(default_factory=dict)
    pss: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    processes: list[tuple[str, str, float]] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        apart = (*processes.DEV_FAKES, compose_run.ENGINE)
        pss_fakes = sum(v for k, v in self.pss.items() if k in processes.DEV_FAKES)
        found = {"cold_start": self.cold_start,
                 "memory_pss": sum(v for k, v in self.pss.items() if k not in apart),
                 "memory_pss_dev_fakes": pss_fakes,
                 "idle_cpu": sum(v for k, v in self.cpu.items() if k != compose_run.ENGINE)}
        if compose_run.ENGINE in self.pss:
            found |= {"memory_pss_engine": self.pss[compose_run.ENGINE],
                      "idle_cpu_engine": self.cpu.get(compose_run.ENGINE, 0.0)}
        if self.second_up is not None:
            found["second_up"] = self.second_up
        if self.triggers:
            found |= {"trigger_to_success_p50": results.percentile(self.triggers, 50),
                      "trigger_to_success_p95": results.percentile(self.triggers, 95)}
        if self.deploys:
            found |= {"deploy_to_visible_p50": results.percentile(self.deploys, 50),
                      "deploy_to_visible_p95": results.percentile(self.deploys, 95)}
        return found


def make_origin(root: Path) -> StackOrigin:
    """A bare origin holding this checkout's dags/ (tracked files only), as the team's repository would."""
    origin = StackOrigin(root / "origin.git", root / "clone")
    tracked = subprocess.run(["git", "ls-files", "dags"], cwd=PROJECT_DIR, capture_output=True, text=True,
                             check=True).stdout.split()
    for name in tracked:
        (origin.work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT_DIR / name, origin.work / name)
    origin.commit({}, "the stack's DAGs")
    return origin


def wait_success(stack: NativeStack, run_id: str, timeout: float = 120) -> float:
    """Poll the run every 50 ms (the harness's own wait polls every 0.3 s); the moment it was seen a success."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")
        state = response.json().get("state") if response.status_code == 200 else None
        if state == "success":
            return time.time()
        if state == "failed":
            raise RuntimeError(f"{DAG_ID} run {run_id} failed")
        time.sleep(0.05)
    raise TimeoutError(f"{DAG_ID} run {run_id} did not succeed within {timeout} s")


def trigger_runs(stack: NativeStack, count: int, run: Run) -> None:
    """Trigger -> success, one run after another after a warm-up run, and where each one's time went."""
    stack.wait_dag(DAG_ID, timeout=300)  # parsed after `up` returned, on a loaded machine
    stack.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
    wait_success(stack, stack.trigger_dag(DAG_ID))
    for _ in range(count):
        # at a random moment, as a user's trigger comes: right after the last run ended the scheduler has just
        # begun its idle sleep, and every trigger would wait nearly the whole of it
        time.sleep(random.uniform(0, 1))
        begin = time.time()
        response = stack.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
        response.raise_for_status()
        run_id = response.json()["dag_run_id"]
        seen = wait_success(stack, run_id)
        run.triggers.append(seen - begin)
        dagrun = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json()
        [ti] = stack.task_instances(DAG_ID, run_id)
        moments = {"trigger": begin, "run_queued": api_time(dagrun.get("queued_at")),
                   "run_start": api_time(dagrun.get("start_date")), "ti_queued": api_time(ti.get("queued_when")),
                   "ti_start": api_time(ti.get("start_date")), "ti_end": api_time(ti.get("end_date")),
                   "run_end": api_time(dagrun.get("end_date")), "seen": seen}
        add_phases(run.phases, PHASES, moments)


def deploy_runs(stack: NativeStack, origin: StackOrigin, count: int, run: Run) -> None:
    bench = Bench(stack.url("webhook"), stack.url("airflow"), origin.bare, stack.settings["WEBHOOK_KEY"],
                  *stack.admin, f"bench_{uuid.uuid4().hex[:6]}")
    rows = bench.run(count)
    missing = sum(1 for _, visible in rows if visible is None)
    if missing:
        raise RuntimeError(f"{missing} of {count} deploys never became visible")
    run.deploys = [visible for _, visible in rows]
    run.deploy_phases = bench.phases


def deploys_done(stack: NativeStack, timeout: float = 300) -> None:
    """Wait until the webhook has finished its deploys: a deploy's DAG shows before the webhook has seen every
    DAG at the commit (and applied dags/bootstrap.yaml), and that work is not idle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = {d.get("state") for d in deploy_status(stack).get("deploys", [])}
        if not states & {"queued", "running"}:
            return
        time.sleep(0.5)
    print(f"the webhook was still deploying after {timeout:.0f} s; measuring anyway", file=sys.stderr)


def idle(of, settle: float, seconds: float, run: Run) -> None:
    """Memory by program once the stack has been idle `settle` s, then CPU by program over `seconds` s. `of`:
    the stack's state folder (native) or its ComposeStack."""
    pss, by_process, cpu = ((processes.by_program, processes.by_process, processes.cpu_by_program)
                            if isinstance(of, Path) else
                            (compose_run.pss_by_service, compose_run.by_process, compose_run.cpu_by_service))
    time.sleep(settle)
    run.pss = pss(of)
    run.processes = by_process(of)
    before, started = cpu(of), time.monotonic()
    time.sleep(seconds)
    after, elapsed = cpu(of), time.monotonic() - started
    run.cpu = {name: max(0.0, after.get(name, 0.0) - before.get(name, 0.0)) / elapsed * 100 for name in after}


def timeline(stack: NativeStack) -> dict | None:
    """The last `up`'s steps and each program's start to healthy (stackctl.timeline), if `up` wrote them."""
    try:
        from stackctl import timeline as up_timeline
    except ImportError:  # a checkout from before `up` kept its timeline
        return None
    return up_timeline.load(stack.state_dir)


def render_timeline(found: dict) -> list[str]:
    try:
        from stackctl import timeline as up_timeline
    except ImportError:
        return []
    return up_timeline.render(found).splitlines()


def one_run(env: dict[str, str], args) -> Run:
    run = Run()
    state_dir = new_state_dir()
    try:
        # inside the state folder, which `up` hands to the stack's user (it fetches from here)
        origin = make_origin(state_dir / "bench-origin")
        env = {**env, "DAG_SOURCE": "gitops", "DEPLOY_REPO_URL": str(origin.bare),
               "WORKER_CONCURRENCY": "4"}
        started = time.monotonic()
        stack = NativeStack.start(state_dir, env)
        run.cold_start = time.monotonic() - started
        try:
            run.timeline = timeline(stack)
            trigger_runs(stack, args.triggers, run)
            deploy_runs(stack, origin, args.deploys, run)
            deploys_done(stack)
            idle(state_dir, args.settle, args.idle_seconds, run)
            stack.stop()
            started = time.monotonic()
            again = stack.run("up", timeout=600)
            if again.returncode == 0:
                run.second_up = time.monotonic() - started
                run.second_timeline = timeline(stack)
            else:  # the other figures of this run still stand
                print(f"the second `up` failed, so this run has no second-up figure:\n{again.stdout}{again.stderr}",
                      file=sys.stderr)
        finally:
            stack.stop()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return run


def one_compose_run(env: dict[str, str], args) -> Run:
    """The same measures of a fresh compose project; no timeline (compose has none)."""
    run = Run()
    project = compose_run.ComposeRun(env)
    with project as stack:
        run.cold_start = stack.up_seconds
        trigger_runs(stack, args.triggers, run)
        deploy_runs(stack, project.origin, args.deploys, run)
        deploys_done(stack)
        idle(stack, args.settle, args.idle_seconds, run)
        run.second_up = project.restart()
    return run


def cells(values: list[float], digits: int) -> str:
    low, middle, high = results.summary(values)
    return f"{low:.{digits}f} / **{middle:.{digits}f}** / {high:.{digits}f}"


def per_run(runs: list[Run], name: str) -> list[float]:
    return [r.figures()[name] for r in runs if name in r.figures()]


def phase_table(measured: dict[str, list[Run]], what: str, phases, of) -> list[str]:
    """Where `what` goes: each phase's median of each run's median, one column per variant."""
    names = list(measured)
    lines = ["", f"Where {what} goes (median of each run's median, s):", "",
             f"| phase | {' | '.join(names)} |", "|---|" + "---|" * len(names)]
    for phase, _, _ in phases:
        row = [cells([results.percentile(of(r)[phase], 50) for r in runs if phase in of(r)], 2)
               if any(phase in of(r) for r in runs) else "—" for runs in measured.values()]
        lines.append(f"| {phase} | {' | '.join(row)} |")
    return lines


def report(measured: dict[str, list[Run]], args) -> list[str]:
    names = list(measured)
    lines = [f"| figure | goal | {' | '.join(names)} |", "|---|---|" + "---|" * len(names)]
    for figure, (unit, goal) in GOALS.items():
        digits = 0 if unit in ("MiB",) else 1 if unit.startswith("%") else 2
        row = [cells(per_run(runs, figure), digits) if per_run(runs, figure) else "—" for runs in measured.values()]
        limit = "—" if goal is None else f"≤ {goal:g}"
        lines.append(f"| {figure.replace('_', ' ')} ({unit}) | {limit} | {' | '.join(row)} |")
    lines += phase_table(measured, "trigger -> success", PHASES, lambda r: r.phases)
    lines += phase_table(measured, "deploy POST -> visible", DEPLOY_PHASES, lambda r: r.deploy_phases)
    programs = sorted({p for runs in measured.values() for r in runs for p in r.pss},
                      key=lambda p: -max(r.pss.get(p, 0) for runs in measured.values() for r in runs))
    lines += ["", "Memory (PSS MiB) and idle CPU (% of one core) by program, median over the runs:", "",
              f"| program | {' | '.join(f'{n} PSS | {n} CPU' for n in names)} |",
              "|---|" + "---|---|" * len(names)]
    for program in programs:
        row = []
        for runs in measured.values():
            row += [f"{results.summary([r.pss.get(program, 0) for r in runs])[1]:.0f}",
                    f"{results.summary([r.cpu.get(program, 0) for r in runs])[1]:.1f}"]
        lines.append(f"| {program} | {' | '.join(row)} |")
    for name, runs in measured.items():
        lines += ["", f"Processes of the last `{name}` run (PSS MiB, over 5 MiB):", ""]
        lines += [f"    {pss:6.0f}  {program:28s} {title}" for program, title, pss in runs[-1].processes if pss > 5]
        for label, found in (("cold start", runs[-1].timeline), ("second `up`", runs[-1].second_timeline)):
            if found:
                lines += ["", f"Timeline of the {label} of the last `{name}` run:", ""]
                lines += [f"    {line}" for line in render_timeline(found)]
    return lines


def record(measured: dict[str, list[Run]], command: str, load: str) -> list[results.Figure]:
    figures = []
    commit = results.git_commit()
    for variant, runs in measured.items():
        prefix = f"{COMPOSE}.shipped" if variant == COMPOSE else f"native.{variant}"
        for name, (unit, goal) in GOALS.items():
            values = per_run(runs, name)
            if values:
                figures.append(results.figure(f"{prefix}.{name}", values, unit, goal, command, load,
                                              commit))
        for program in sorted({p for r in runs for p in r.pss}):
            figures.append(results.figure(f"{prefix}.pss.{program}", [r.pss.get(program, 0) for r in runs],
                                          "MiB", None, command, load, commit))
            figures.append(results.figure(f"{prefix}.idle_cpu.{program}",
                                          [r.cpu.get(program, 0) for r in runs], "% of one core", None, command,
                                          load, commit))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="fresh stacks per variant (default 3)")
    parser.add_argument("--triggers", type=int, default=15, help="stack-smoke runs per stack (default 15)")
    parser.add_argument("--deploys", type=int, default=5, help="deploys per stack (default 5)")
    parser.add_argument("--idle-seconds", type=float, default=20, help="idle CPU window (default 20)")
    parser.add_argument("--settle", type=float, default=10, help="idle seconds before measuring (default 10)")
    parser.add_argument("--only", action="append", help="this variant only: shipped, airflow-defaults or compose "
                        "(repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting on top of every variant, e.g. AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME=1")
    parser.add_argument("--no-record", action="store_true", help="leave benchmarks/results.json as it is")
    args = parser.parse_args()
    if args.runs < 1 or args.triggers < 1 or args.deploys < 1:
        parser.error("--runs, --triggers and --deploys must be at least 1")
    bad = [item for item in args.set if "=" not in item]
    if bad:
        parser.error(f"--set {bad[0]!r}: write KEY=VALUE")
    extra = dict(item.split("=", 1) for item in args.set)
    command = shlex.join([".venv/bin/python", "-m", "benchmarks.stack_benchmark", *sys.argv[1:]])
    load = f"load average {os.getloadavg()[0]:.1f} when it started"
    os.environ["GIT_CONFIG_GLOBAL"] = str(GITCONFIG)  # the benchmark pushes into an origin the stack user owns
    chosen = variants(args.only)
    measured: dict[str, list[Run]] = {name: [] for name in chosen}
    started = time.monotonic()
    for number in range(1, args.runs + 1):
        for name, env in chosen.items():
            print(f"run {number}/{args.runs}, {name}: starting ({time.monotonic() - started:.0f} s so far)",
                  file=sys.stderr)
            try:
                measure = one_compose_run if name == COMPOSE else one_run
                measured[name].append(measure({**env, **extra}, args))
            except (RuntimeError, TimeoutError, requests.RequestException, subprocess.SubprocessError) as error:
                # one failed run (a port taken meanwhile, a stack that did not answer) leaves the others' figures
                print(f"run {number}, {name} failed, left out: {error}", file=sys.stderr)
    failed = [name for name, runs in measured.items() if not runs]
    if failed:
        sys.exit(f"stack_benchmark: every run of {', '.join(failed)} failed (see above); nothing recorded")
    if any(len(runs) < args.runs for runs in measured.values()):
        load += f"; runs left out after failing: {', '.join(f'{n} {args.runs - len(r)}' for n, r in measured.items())}"
    print(f"Command: `{command}` ({load}; {time.monotonic() - started:.0f} s in all)\n")
    print("\n".join(report(measured, args)))
    figures = record(measured, command, load)
    if args.set or args.no_record:
        print("\n(not recorded: --set or --no-record)")
        return 0
    old = results.load()
    results.record(figures)
    print("\nRecorded in benchmarks/results.json:")
    print("\n".join(f"    {line}" for line in results.compare(old, [f for f in figures if "." not in
                                                                     f.name.split(".", 2)[2]])))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except requests.RequestException as error:
        sys.exit(f"stack_benchmark: the stack did not answer: {error}")
