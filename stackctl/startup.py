"""The order `./stack up` starts the programs in, once supervisord runs; each step lands in its timeline.

1. Every program that needs nothing of airflow-init (PostgreSQL, Redis, the diagnostics server, the
   development fakes) starts at once: supervisord is not asked to wait out anyone's start-up seconds.
2. airflow-init's check runs once what it depends on answers (PostgreSQL, Redis); airflow-init itself runs,
   once every program of step 1 answers (its bootstrap file reads the 1Password fake), only when the database
   needs it (stackctl/init.py `pending`: the schema behind the installed Airflow, or no admin); it applies
   dags/bootstrap.yaml itself. When it is not needed, the rest of step 1 is waited for with the others.
3. Every other program starts at once, but those compose starts only once another program of this step is
   healthy (`after_healthy`: the DAG processor after the api-server, the relay after HAProxy and the webhook),
   which start then; each is polled in its own thread until healthy. The execution API's
   first, slow call is paid as soon as the api-server is healthy, not by the first task.
4. Once every program started together is healthy, every public port is asked through HAProxy as a user would
   (a login and a page each, stackctl/health.py), beside the held programs' start and, when airflow-init did not
   run, the bootstrap file applied in a subprocess. `up` returns once all of it is done.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from stackctl import bootstrap, health, init, native, postgres, services, supervisor
from stackctl.settings import Settings
from stackctl.timeline import Timeline

# What supervisord says of a program that could not start (it goes on retrying a BACKOFF one).
FAILED = ("BACKOFF", "FATAL", "EXITED")
# How long the public ports get to answer through HAProxy once they are asked: HAProxy marks a
# backend up within a quarter of a second of its check passing (haproxy.cfg), the rest is a loaded machine.
PUBLIC_TIMEOUT = 60.0


def after_healthy(stack: services.Stack, later: set[str]) -> dict[str, set[str]]:
    """Program -> the programs of step 3 it waits to be healthy for: compose's `service_healthy` conditions on
    them, so both modes start in one order (compose.services.yaml says why for each)."""
    found = {}
    for program in stack.supervised():
        firsts = {name for name, condition in program.depends_on.items()
                  if condition == "service_healthy" and name in later}
        if program.name in later and firsts:
            found[program.name] = firsts
    return found


def after_init(stack: services.Stack) -> set[str]:
    """Programs that depend on a one-shot (airflow-init), directly or through another program."""
    found = {p.name for p in stack.programs.values() if p.oneshot}
    while True:
        more = {p.name for p in stack.programs.values() if set(p.depends_on) & found} - found
        if not more:
            return found - {p.name for p in stack.programs.values() if p.oneshot}
        found |= more


def start(settings: Settings, stack: services.Stack, timeline: Timeline, echo, timeout: float,
          since: float | None = None) -> tuple[dict[str, tuple[bool | None, str]], list[str]]:
    """Steps 1-4; return each program's last health result (some unhealthy if `timeout` ran out) and a sentence
    for each public port that did not answer (not asked when a program is unhealthy). `since`: when every program
    is started by this `up`, the epoch time before it started them (an Airflow job counts only from then on)."""
    later = after_init(stack)
    early = [p.name for p in stack.supervised() if p.name not in later]
    oneshots = [p for p in stack.programs.values() if p.oneshot]
    needed = {name for p in oneshots for name in p.depends_on if name in early}  # PostgreSQL, Redis
    unwaited = [name for name in early if name not in needed]
    _launch(settings, timeline, early)
    _wait_early(settings, timeline, sorted(needed), timeout)
    with timeline.step("database and roles"):
        postgres.ensure_database(settings)
    bootstrap_env = None
    for oneshot in oneshots:
        todo = None
        if oneshot.name == "airflow-init":
            with timeline.step(f"{oneshot.name}: check"):
                todo = init.pending(oneshot.env)
            if not todo:
                echo(f"{oneshot.name}: already done (schema at the installed Airflow's head, admin exists)")
                bootstrap_env = oneshot.env
                continue
        if unwaited:  # a one-shot that runs may read any of them (airflow-init's bootstrap file, the 1Password fake)
            _wait_early(settings, timeline, unwaited, timeout)
            unwaited = []
        # airflow-init when the database needs it; another one-shot (the monitoring profile's dashboard-account)
        # always runs
        with timeline.step(f"{oneshot.name}: {' and '.join(todo)}" if todo else oneshot.name):
            run_init(settings, oneshot, echo)
    waits_for = after_healthy(stack, later)
    unmet = {name: set(firsts) for name, firsts in waits_for.items()}  # what each held program still waits for
    held = set(waits_for)
    _launch(settings, timeline, [p.name for p in stack.supervised() if p.name in later and p.name not in held])
    warm_up = threading.Thread(target=_warm_up, args=(settings, timeline), daemon=True)
    refused: dict[str, str] = {}
    starting = ({p.name for p in stack.supervised()} - held) & set(health.checks(settings))  # those checked
    applying: list[tuple[dict, subprocess.Popen] | None] = []  # the bootstrap file's step and process, once
    lock = threading.Lock()

    silent: list[str] = []
    asking = threading.Thread(target=lambda: silent.extend(check_public(settings, stack, timeline)), daemon=True)

    def all_started_healthy(ask: bool = True) -> None:
        # Once every program started together is healthy (the api-server last, mostly): the public ports are asked
        # (none is a held program's), and the bootstrap file applied: beside the programs' start its Airflow import
        # took CPU from theirs; now it runs beside the execution-API warm-up (one core) and the held programs' start.
        with lock:
            if applying:
                return
            applying.append((timeline.begin("bootstrap file"), bootstrap.start(settings, bootstrap_env))
                            if bootstrap_env else None)
            if ask:
                asking.start()

    def healthy(name: str) -> None:
        timeline.finish(name)
        with lock:  # health results come from one thread per program
            ready = []
            for late, firsts in unmet.items():
                firsts.discard(name)
                if late in held and not firsts:
                    ready.append(late)
                    held.discard(late)
        for late in ready:
            try:
                _launch(settings, timeline, [late])
            except RuntimeError as error:
                refused[late] = str(error)
        if name == "airflow-apiserver":
            warm_up.start()
        with lock:
            starting.discard(name)
            if starting:
                return
        all_started_healthy()

    def gave_up(name: str) -> str | None:
        # what started in step 1 and was not waited for yet: one supervisord cannot start fails `up` at once
        return refused.get(name) or (_failed(settings, name) if name in unwaited else None)

    try:
        results = health.wait_healthy(settings, [p.name for p in stack.supervised()], timeout, on_change=healthy,
                                      gave_up=gave_up, since=since)
        for name in held & set(results):  # what it waits for never got healthy
            firsts = sorted(waits_for[name])
            results[name] = (False, f"{results[name][1]}; not started: it starts once {' and '.join(firsts)} "
                                    f"{'is' if len(firsts) == 1 else 'are'} healthy")
        healthy_all = all(ok is not False for ok, _ in results.values())
        if healthy_all:
            all_started_healthy()  # if not yet: a program without a check
            asking.join()
        else:  # the public ports are not asked (or their sentences left out: a held program failed); the
            all_started_healthy(ask=False)  # bootstrap file's lines still say what it did
            silent = []
        if warm_up.is_alive():
            warm_up.join()
    except BaseException:  # `down` or Ctrl-C meanwhile: the bootstrap subprocess does not outlive `up`
        with lock:
            for entry in applying:
                if entry:
                    entry[1].kill()
            applying.append(None)  # none starts any more
        raise
    for entry in applying:
        if entry:
            bootstrap.report(entry[1], echo)
            timeline.end(entry[0])
    return results, silent


def check_public(settings: Settings, stack: services.Stack, timeline: Timeline) -> list[str]:
    """Step 4: one sentence per public port that did not answer as it should."""
    haproxy = stack.programs["haproxy"].env  # the logins it and Airflow were given
    admin = stack.programs["airflow-init"].env
    logins = {"operator": (haproxy["FLOWER_USERNAME"], haproxy["FLOWER_PASSWORD"]),
              "admin": (admin["_AIRFLOW_WWW_USER_USERNAME"], admin["_AIRFLOW_WWW_USER_PASSWORD"])}
    with timeline.step("public ports through HAProxy"):
        return health.check_public(settings, logins, set(stack.programs), PUBLIC_TIMEOUT)


def _launch(settings: Settings, timeline: Timeline, names: list[str]) -> None:
    for name in names:
        timeline.begin(name)
    for line in supervisor.launch(settings, *names):
        raise RuntimeError(f"supervisord could not start {line}")


def _wait_early(settings: Settings, timeline: Timeline, names: list[str], timeout: float) -> None:
    """Step 1's programs `names` healthy, or `up` stops naming each that is not (supervisord says it failed)."""
    with timeline.step("wait: what airflow-init needs"):
        ready = health.wait_healthy(settings, names, timeout, on_change=timeline.finish,
                                    gave_up=lambda name: _failed(settings, name))
    failed = {name: detail for name, (ok, detail) in ready.items() if ok is False}
    if failed:
        raise RuntimeError("could not start what airflow-init needs: " + "; ".join(
            f"{name} ({detail}; log: {supervisor.log_path(settings, name)})" for name, detail in failed.items()))


def _failed(settings: Settings, name: str) -> str | None:
    state, said = supervisor.state(settings, name)
    return f"{state}: {said}" if state in FAILED else None


def _warm_up(settings: Settings, timeline: Timeline) -> None:
    """The first execution-API call after a start takes seconds; pay it now, not in the first task."""
    with timeline.step("execution API warm-up"):
        health.http_get(f"http://{settings['BIND_HOST']}:{settings['AIRFLOW_API_PORT']}/execution/health",
                        timeout=30)


def run_init(settings: Settings, init_program: services.Program, echo) -> None:
    """airflow-init (the compose one-shot) in a process of its own; its summary and bootstrap lines are shown."""
    native.airflow_home(settings).mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(init_program.argv, env=init_program.env, cwd=settings.project_dir,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate()
    except BaseException:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"{init_program.name} failed (exit {proc.returncode}):\n{output[-3000:]}")
    lines = output.strip().splitlines()
    summary = [line for line in lines if line.startswith(f"{init_program.name}:")]
    for line in summary[:1]:
        echo(f"{line} ({time.monotonic() - started:.1f} s)")
    for line in summary[1:] + [line for line in lines if line.startswith("bootstrap")]:
        echo(line)
