"""Run the stack's programs under supervisord: write its config, start it, talk to it, stop it.

One supervisord, the stack user's, runs every program; when `up` runs as root the Celery worker runs apart,
under a supervisord of the task user's (stackctl/task_user.py), and every function here covers both.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

from stackctl import native, reaper, services, task_user
from stackctl.settings import Settings

# Seconds a program gets to stop after SIGTERM before supervisord sends SIGKILL to its process group, unless
# compose gives its service a stop_grace_period (the Celery worker's warm shutdown lets running tasks finish).
STOP_WAIT_SECONDS = 20


@dataclass(frozen=True)
class Supervisord:
    """One supervisord: where its configuration, pidfile, control socket and logs are, and how it runs."""

    config: Path
    run: Path  # its pidfile and control socket
    logs: Path  # its own log and its programs'
    umask: str  # of the files it and its programs create
    socket_mode: str

    @property
    def pidfile(self) -> Path:
        return self.run / "supervisord.pid"

    @property
    def socket(self) -> Path:
        return self.run / "supervisor.sock"


def main(settings: Settings) -> Supervisord:
    """The stack user's: every program (but the worker, when it runs apart)."""
    run = settings.state_dir / "run"
    # files are closed to other users; the socket is the stack user's alone
    return Supervisord(run / "supervisord.conf", run, settings.state_dir / "logs", "027", "0700")


def for_tasks(settings: Settings) -> Supervisord:
    """The task user's: the worker alone. umask 007, not 027: the triggerer (the stack user, in the task user's
    group) adds its logs to the task log folders the worker creates. The socket is open to that group, so the
    stack user's `./stack status`, `restart` and `down` reach it."""
    own = task_user.folder(settings.state_dir)
    return Supervisord(task_user.config_path(settings.state_dir), own / "run", own / "logs", "007", "0770")


def instances(settings: Settings) -> list[Supervisord]:
    return [main(settings), for_tasks(settings)] if task_user.is_apart(settings) else [main(settings)]


def of(settings: Settings, name: str) -> Supervisord:
    """The supervisord that runs program `name`."""
    apart = name == task_user.WORKER and task_user.is_apart(settings)
    return for_tasks(settings) if apart else main(settings)


def run_dir(settings: Settings) -> Path:
    return main(settings).run


def config_path(settings: Settings) -> Path:
    return main(settings).config


def pidfile(settings: Settings) -> Path:
    return main(settings).pidfile


def log_path(settings: Settings, name: str) -> Path:
    return of(settings, name).logs / f"{name}.log"


def _quote(value: str) -> str:
    # supervisord expands %(name)s in its config, so a literal % must be doubled
    return value.replace("%", "%%")


def supervised(settings: Settings) -> list[services.Program]:
    """Programs supervisord runs here, in start order (one-shots run from `up`; profiles' when they apply)."""
    return services.load(settings).supervised()


def write_env_files(settings: Settings, apart: bool = False) -> None:
    """Each program's argv and environment, readable only by the owner: secrets stay out of the config file.
    The worker's, when it runs apart, goes where the task user can read it and nothing else of the stack's."""
    env_dir = run_dir(settings) / "env"
    env_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(env_dir, 0o700)
    for name, program in services.load(settings).programs.items():
        argv, env = program.argv, program.env
        if apart and name == task_user.WORKER:
            env = task_user.worker_environment(settings, env)
            task_user.write_spec(settings, json.dumps({"argv": argv, "env": env}))
            (env_dir / f"{name}.json").unlink(missing_ok=True)
            continue
        fd = os.open(env_dir / f"{name}.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"argv": argv, "env": env}, handle)


def _header(sup: Supervisord) -> list[str]:
    return [
        "[unix_http_server]", f"file={_quote(str(sup.socket))}", f"chmod={sup.socket_mode}", "",
        "[supervisord]", f"logfile={_quote(str(sup.logs / 'supervisord.log'))}",
        f"pidfile={_quote(str(sup.pidfile))}", f"childlogdir={_quote(str(sup.logs))}",
        # logs, sockets and files the programs create are not readable by other users of the machine
        f"umask={sup.umask}",
        "logfile_maxbytes=10MB", "logfile_backups=3", "", "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
        "[supervisorctl]", f"serverurl=unix://{_quote(str(sup.socket))}", "",
    ]


def render(settings: Settings, apart: bool = False) -> str:
    """The stack user's supervisord configuration for this state folder (without the worker when apart)."""
    sup = main(settings)
    python = settings.bin("python")
    lines = _header(sup)
    for priority, program in enumerate(supervised(settings), start=1):
        if apart and program.name == task_user.WORKER:
            continue
        if program.name in ("postgres", "redis"):
            command = " ".join(program.argv)  # no secrets in these
        else:
            command = f"{python} -m stackctl.launch {program.name}"
        # no `user=`: each supervisord runs as its user, so its programs do (stackctl/privileges.py)
        lines += _program(settings, sup, program, command, priority,
                          stopsignal="INT" if program.name == "postgres" else "TERM")
    return "\n".join(lines) + "\n"


def render_tasks(settings: Settings) -> str:
    """The task user's supervisord configuration: the worker alone, its environment file in the task folder."""
    sup = for_tasks(settings)
    worker = services.load(settings).programs[task_user.WORKER]
    command = f"{settings.bin('python')} -m stackctl.launch {task_user.WORKER}"
    return "\n".join(_header(sup) + _program(settings, sup, worker, command, 1,
                                              spec_dir=task_user.folder(settings.state_dir))) + "\n"


def _stop_options(program: services.Program, launched: bool) -> list[str]:
    """How supervisord stops a program. A launched one runs under stackctl.reaper, which passes the signal to
    the program alone (a group-wide TERM also reaches the worker's pool and task processes, which the worker's
    warm shutdown is meant to let finish) and ends
    whatever the program leaves behind; SIGKILL to the whole group stays the last resort."""
    wait = round(program.stop_seconds or STOP_WAIT_SECONDS)
    return [f"stopasgroup={'false' if launched else 'true'}", "killasgroup=true", f"stopwaitsecs={wait}"]


def _program(settings: Settings, sup: Supervisord, program: services.Program, command: str, priority: int,
             stopsignal: str = "TERM", spec_dir: Path | None = None) -> list[str]:
    environment = f'STACK_STATE_DIR="{_quote(str(settings.state_dir))}"'
    if spec_dir:  # where stackctl.launch finds the program's environment, when not in run/env
        environment += f',STACK_SPEC_DIR="{_quote(str(spec_dir))}"'
    name = program.name
    lines = [
        f"[program:{name}]", f"command={_quote(command)}",
        f"directory={_quote(str(settings.project_dir))}",
        f"environment={environment}",
        "autostart=false", f"autorestart={str(program.restart).lower()}", "startsecs=3", "startretries=100",
        f"priority={priority}", f"stopsignal={stopsignal}", *_stop_options(program, "stackctl.launch" in command),
        "redirect_stderr=true", f"stdout_logfile={_quote(str(sup.logs / f'{name}.log'))}",
        "stdout_logfile_maxbytes=20MB", "stdout_logfile_backups=3",
    ]
    return lines + [""]


def _pid(sup: Supervisord) -> int | None:
    """Its pid, if it is running. A supervisord of another user (the task user's) cannot be signalled, which
    still says it runs (a stale pidfile naming another user's process does not leave a control socket)."""
    try:
        pid = int(sup.pidfile.read_text().strip())
        os.kill(pid, 0)
    except PermissionError:
        return pid if sup.socket.exists() else None
    except (OSError, ValueError):
        return None
    return pid


def is_running(settings: Settings, sup: Supervisord | None = None) -> bool:
    return _pid(sup or main(settings)) is not None


def start_daemon(settings: Settings) -> None:
    """Start the stack user's supervisord (the task user's is started by root: stackctl/privileges.py)."""
    # umask before supervisord opens its own log (its `umask` setting covers only what comes after). Only the
    # basic variables, not the caller's whole environment: a program may read its supervisord's
    # /proc/<pid>/environ (each program gets its own from run/env/<name>.json)
    env = {name: os.environ[name] for name in native.PASSTHROUGH if name in os.environ}
    subprocess.run([settings.bin("supervisord"), "-c", str(config_path(settings))], check=True, umask=0o027,
                   env=env)
    wait_started(main(settings))


def wait_started(sup: Supervisord, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not (sup.socket.exists() and _pid(sup)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"supervisord did not start; see {sup.logs / 'supervisord.log'}")
        time.sleep(0.05)


def ctl(settings: Settings, sup: Supervisord, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([settings.bin("supervisorctl"), "-c", str(sup.config), *args],
                          capture_output=True, text=True, check=check)


def reload_config(settings: Settings, sup: Supervisord) -> None:
    """Pick up a rewritten config: added programs appear, changed ones restart, unchanged ones keep running."""
    ctl(settings, sup, "reread")
    ctl(settings, sup, "update")


def start(settings: Settings, *names: str) -> list[str]:
    """Start programs ("all": every program of every supervisord), waiting out their start-up seconds; return
    supervisord's error lines."""
    groups: dict[Supervisord, list[str]] = {}
    if names == ("all",):
        groups = {sup: ["all"] for sup in instances(settings)}
    else:
        for name in names:
            groups.setdefault(of(settings, name), []).append(name)
    errors = []
    for sup, group in groups.items():
        result = ctl(settings, sup, "start", *group)
        errors += [line for line in result.stdout.splitlines() if "ERROR" in line and "already started" not in line]
    return errors


def _rpc(sup: Supervisord):
    """supervisord's XML-RPC interface over its control socket: no supervisorctl process (a Python start each)."""
    from supervisor.xmlrpc import SupervisorTransport

    return xmlrpc.client.ServerProxy("http://127.0.0.1", SupervisorTransport(serverurl=f"unix://{sup.socket}"))


def launch(settings: Settings, *names: str) -> list[str]:
    """Start programs without waiting out their start-up seconds (`up` waits for their health instead); return
    an error line for each that could not be started (already running is no error)."""
    errors = []
    for name in names:
        try:
            _rpc(of(settings, name)).supervisor.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                errors.append(f"{name}: ERROR ({fault.faultString})")
    return errors


def state(settings: Settings, name: str) -> tuple[str, str]:
    """(supervisord's state of the program, what it says about it: its exit, its spawn error)."""
    try:
        info = _rpc(of(settings, name)).supervisor.getProcessInfo(name)
    except (OSError, xmlrpc.client.Error) as error:
        return "UNKNOWN", str(error)
    return info["statename"], info.get("spawnerr") or info.get("description") or ""


def states(settings: Settings) -> dict[str, str]:
    """Program name -> supervisord state (RUNNING, STOPPED, BACKOFF, ...); the worker is STOPPED when it runs
    apart and the task user's supervisord does not."""
    if not is_running(settings):
        return {}
    found = {}
    for sup in instances(settings):
        if sup != main(settings) and not is_running(settings, sup):
            found[task_user.WORKER] = "STOPPED"
            continue
        for line in ctl(settings, sup, "status").stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                found[parts[0]] = parts[1]
    return found


def shutdown(settings: Settings, timeout: float = 60) -> None:
    """Stop every program (process groups, SIGKILL after stopwaitsecs) and each supervisord.

    The task user's first, and whole: the worker's warm shutdown lets running tasks finish, and they need the
    api-server. The stack user cannot signal it, so it is asked through its socket; it kills the worker itself
    once stopwaitsecs are over.
    """
    shutdown_tasks(settings)
    sup = main(settings)
    pid = _pid(sup)
    if not pid:
        return
    os.kill(pid, signal.SIGTERM)
    if not _wait_gone(sup, pid, timeout):
        kill_with_descendants(pid)


def kill_with_descendants(pid: int) -> list[int]:
    """SIGKILL a supervisord that did not stop in time, then end every process it still had under it (SIGTERM,
    SIGKILL after the reaper's grace): killed alone, it left its programs running, re-parented to init, holding
    the stack's ports (seen under load: PostgreSQL, Redis, the diagnostics server, the fakes). Return who was
    left under it."""
    left = reaper.descendants(pid)
    os.kill(pid, signal.SIGKILL)
    for sig, grace in ((signal.SIGTERM, reaper.GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        alive = [p for p in left if _process_alive(p)]
        for child in alive:
            try:
                os.kill(child, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = [p for p in alive if _process_alive(p)]
        if not alive:
            break
    return left


def shutdown_tasks(settings: Settings) -> None:
    """Stop the task user's supervisord, if it runs: through its socket, since the stack user cannot signal it."""
    tasks = for_tasks(settings)
    pid = _pid(tasks)
    if not pid:
        return
    ctl(settings, tasks, "shutdown")
    if not _wait_gone(tasks, pid, _stop_seconds(tasks) + 15):
        raise RuntimeError(f"the task user's supervisord (pid {pid}) did not stop; as root: kill {pid}")


def _stop_seconds(sup: Supervisord) -> int:
    """The longest stopwaitsecs in its configuration: how long its programs may take to stop."""
    found = re.findall(r"^stopwaitsecs=(\d+)$", sup.config.read_text(), re.M) if sup.config.exists() else []
    return max(map(int, found), default=STOP_WAIT_SECONDS)


def _wait_gone(sup: Supervisord, pid: int, timeout: float) -> bool:
    """Until the process has exited, not only removed its pidfile (supervisord does that first, then exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid(sup) != pid and not _process_alive(pid):
            return True
        time.sleep(0.1)
    return False


def _process_alive(pid: int) -> bool:
    """Whether pid is a live process (of any user); a zombie has exited."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
