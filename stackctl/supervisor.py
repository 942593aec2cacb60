"""Run the stack's programs under supervisord: write its config, start it, talk to it, stop it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from stackctl import native
from stackctl.services import SERVICES, Service
from stackctl.settings import Settings

# Seconds a program gets to stop after SIGTERM before supervisord sends SIGKILL to its process group.
STOP_WAIT_SECONDS = 20
# The Celery worker's warm shutdown lets running tasks finish: as long as compose's stop_grace_period.
WORKER_STOP_WAIT_SECONDS = 120


def run_dir(settings: Settings) -> Path:
    return settings.state_dir / "run"


def config_path(settings: Settings) -> Path:
    return run_dir(settings) / "supervisord.conf"


def pidfile(settings: Settings) -> Path:
    return run_dir(settings) / "supervisord.pid"


def log_path(settings: Settings, name: str) -> Path:
    return settings.state_dir / "logs" / f"{name}.log"


def _quote(value: str) -> str:
    # supervisord expands %(name)s in its config, so a literal % must be doubled
    return value.replace("%", "%%")


def supervised(settings: Settings) -> list[Service]:
    """Services that run as supervised programs here (one-shots run from `up`; optional ones when set)."""
    return [s for s in SERVICES if not s.oneshot and (not s.optional_setting or settings.get(s.optional_setting))]


def write_env_files(settings: Settings, extra: dict[str, tuple[list[str], dict[str, str]]]) -> None:
    """Each program's argv and environment, readable only by the owner: secrets stay out of the config file."""
    env_dir = run_dir(settings) / "env"
    env_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(env_dir, 0o700)
    specs = {s.name: (native.argv(s, settings), native.environment(s, settings)) for s in SERVICES}
    specs.update(extra)
    for name, (argv, env) in specs.items():
        fd = os.open(env_dir / f"{name}.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"argv": argv, "env": env}, handle)


def render(settings: Settings, extra_programs: dict[str, tuple[list[str], dict[str, str]]] | None = None) -> str:
    """The supervisord configuration for this state folder."""
    run = run_dir(settings)
    logs = settings.state_dir / "logs"
    python = settings.bin("python")
    lines = [
        "[unix_http_server]", f"file={_quote(str(run / 'supervisor.sock'))}", "chmod=0700", "",
        "[supervisord]", f"logfile={_quote(str(logs / 'supervisord.log'))}",
        f"pidfile={_quote(str(pidfile(settings)))}", f"childlogdir={_quote(str(logs))}",
        # logs, sockets and files the programs create are not readable by other users of the machine
        "umask=027",
        "logfile_maxbytes=10MB", "logfile_backups=3", "", "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
        "[supervisorctl]", f"serverurl=unix://{_quote(str(run / 'supervisor.sock'))}", "",
    ]
    for priority, service in enumerate(supervised(settings), start=1):
        if service.name in ("postgres", "redis"):
            command = " ".join(native.argv(service, settings))  # no secrets in these
        else:
            command = f"{python} -m stackctl.launch {service.name}"
        # no `user=`: supervisord itself runs as the stack user, so every program does (stackctl/privileges.py)
        lines += _program(settings, service.name, command, priority,
                          stopsignal="INT" if service.name == "postgres" else "TERM")
    for name in extra_programs or {}:
        lines += _program(settings, name, f"{python} -m stackctl.launch {name}", 90)
    return "\n".join(lines) + "\n"


def _stop_options(name: str, launched: bool) -> list[str]:
    """How supervisord stops a program. A launched one runs under stackctl.reaper, which passes the signal to
    the program alone (a group-wide TERM also reaches the worker's pool and task processes, which the worker's
    warm shutdown is meant to let finish) and ends
    whatever the program leaves behind; SIGKILL to the whole group stays the last resort."""
    wait = WORKER_STOP_WAIT_SECONDS if name == "airflow-worker" else STOP_WAIT_SECONDS
    return [f"stopasgroup={'false' if launched else 'true'}", "killasgroup=true", f"stopwaitsecs={wait}"]


def _program(settings: Settings, name: str, command: str, priority: int, stopsignal: str = "TERM") -> list[str]:
    lines = [
        f"[program:{name}]", f"command={_quote(command)}",
        f"directory={_quote(str(settings.project_dir))}",
        f'environment=STACK_STATE_DIR="{_quote(str(settings.state_dir))}"',
        "autostart=false", "autorestart=true", "startsecs=3", "startretries=100", f"priority={priority}",
        f"stopsignal={stopsignal}", *_stop_options(name, "stackctl.launch" in command),
        "redirect_stderr=true", f"stdout_logfile={_quote(str(log_path(settings, name)))}",
        "stdout_logfile_maxbytes=20MB", "stdout_logfile_backups=3",
    ]
    return lines + [""]


def is_running(settings: Settings) -> bool:
    try:
        pid = int(pidfile(settings).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def start_daemon(settings: Settings) -> None:
    # umask before supervisord opens its own log (its `umask` setting covers only what comes after). Only the
    # basic variables, not the caller's whole environment: a task runs as the same user as supervisord and so
    # may read its /proc/<pid>/environ (each program gets its own from run/env/<name>.json)
    env = {name: os.environ[name] for name in native.PASSTHROUGH if name in os.environ}
    subprocess.run([settings.bin("supervisord"), "-c", str(config_path(settings))], check=True, umask=0o027,
                   env=env)
    deadline = time.monotonic() + 10
    while not (run_dir(settings) / "supervisor.sock").exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"supervisord did not start; see {settings.state_dir / 'logs' / 'supervisord.log'}")
        time.sleep(0.05)


def ctl(settings: Settings, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([settings.bin("supervisorctl"), "-c", str(config_path(settings)), *args],
                          capture_output=True, text=True, check=check)


def reload_config(settings: Settings) -> None:
    """Pick up a rewritten config: added programs appear, changed ones restart, unchanged ones keep running."""
    ctl(settings, "reread")
    ctl(settings, "update")


def start(settings: Settings, *names: str) -> list[str]:
    """Start programs (waiting out their start-up seconds); return supervisord's error lines."""
    result = ctl(settings, "start", *names)
    return [line for line in result.stdout.splitlines() if "ERROR" in line and "already started" not in line]


def states(settings: Settings) -> dict[str, str]:
    """Program name -> supervisord state (RUNNING, STOPPED, BACKOFF, ...)."""
    if not is_running(settings):
        return {}
    result = ctl(settings, "status")
    found = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            found[parts[0]] = parts[1]
    return found


def shutdown(settings: Settings, timeout: float = 60) -> None:
    """Stop every program (process groups, SIGKILL after stopwaitsecs) and supervisord itself."""
    if not is_running(settings):
        return
    pid = int(pidfile(settings).read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
