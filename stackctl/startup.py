"""The order `./stack up` starts the programs in, once supervisord runs; each step lands in its timeline.

1. Every program that needs nothing of airflow-init (PostgreSQL, Redis, the diagnostics server, the
   development fakes) starts at once: supervisord is not asked to wait out anyone's start-up seconds.
2. airflow-init runs once those answer, and only when the database needs it (stackctl/init.py `pending`: the
   schema behind the installed Airflow, or no admin); it applies dags/bootstrap.yaml itself. When it is not
   needed, the bootstrap file is applied in a subprocess once every program is healthy, beside step 4.
3. Every other program starts at once; each is polled in its own thread until healthy. The execution API's
   first, slow call is paid as soon as the api-server is healthy, not by the first task.
4. Every public port is asked through HAProxy as a user would: a login and a page each (stackctl/health.py).
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
# How long the public ports get to answer through HAProxy once every program is healthy: HAProxy marks a
# backend up within a quarter of a second of its check passing (haproxy.cfg), the rest is a loaded machine.
PUBLIC_TIMEOUT = 60.0


def after_init(stack: services.Stack) -> set[str]:
    """Programs that depend on a one-shot (airflow-init), directly or through another program."""
    found = {p.name for p in stack.programs.values() if p.oneshot}
    while True:
        more = {p.name for p in stack.programs.values() if set(p.depends_on) & found} - found
        if not more:
            return found - {p.name for p in stack.programs.values() if p.oneshot}
        found |= more


def start(settings: Settings, stack: services.Stack, timeline: Timeline, echo, timeout: float
          ) -> tuple[dict[str, tuple[bool | None, str]], list[str]]:
    """Steps 1-4; return each program's last health result (some unhealthy if `timeout` ran out) and a sentence
    for each public port that did not answer (not asked when a program is unhealthy)."""
    later = after_init(stack)
    early = [p.name for p in stack.supervised() if p.name not in later]
    _launch(settings, timeline, early)
    with timeline.step("wait: what airflow-init needs"):
        ready = health.wait_healthy(settings, early, timeout, on_change=timeline.finish,
                                    gave_up=lambda name: _failed(settings, name))
    failed = {name: detail for name, (ok, detail) in ready.items() if ok is False}
    if failed:
        raise RuntimeError("could not start what airflow-init needs: " + "; ".join(
            f"{name} ({detail}; log: {supervisor.log_path(settings, name)})" for name, detail in failed.items()))
    with timeline.step("database and roles"):
        postgres.ensure_database(settings)
    bootstrap_env = None
    for oneshot in [p for p in stack.programs.values() if p.oneshot]:
        if oneshot.name != "airflow-init":  # another one-shot (the monitoring profile's dashboard-account): it runs
            with timeline.step(oneshot.name):
                run_init(settings, oneshot, echo)
            continue
        with timeline.step(f"{oneshot.name}: check"):
            todo = init.pending(oneshot.env)
        if todo:
            with timeline.step(f"{oneshot.name}: {' and '.join(todo)}"):
                run_init(settings, oneshot, echo)
        else:
            echo(f"{oneshot.name}: already done (schema at the installed Airflow's head, admin exists)")
            bootstrap_env = oneshot.env
    _launch(settings, timeline, [p.name for p in stack.supervised() if p.name in later])
    warm_up = threading.Thread(target=_warm_up, args=(settings, timeline), daemon=True)

    def healthy(name: str) -> None:
        timeline.finish(name)
        if name == "airflow-apiserver":
            warm_up.start()

    results = health.wait_healthy(settings, [p.name for p in stack.supervised()], timeout, on_change=healthy)
    # The bootstrap file only now: beside the programs' start its Airflow import took CPU from their own, while
    # the checks below mostly wait for the api-server's execution-API warm-up, one core.
    applying = (timeline.begin("bootstrap file"), bootstrap.start(settings, bootstrap_env)) if bootstrap_env else None
    try:
        healthy_all = all(ok is not False for ok, _ in results.values())
        silent = check_public(settings, stack, timeline) if healthy_all else []
        if warm_up.is_alive():
            warm_up.join()
    except BaseException:  # `down` or Ctrl-C meanwhile: the bootstrap subprocess does not outlive `up`
        if applying:
            applying[1].kill()
        raise
    if applying:
        bootstrap.report(applying[1], echo)
        timeline.end(applying[0])
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
