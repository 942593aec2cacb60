"""`./stack up | down | status | logs | backup | restore | airflow ...`: the native stack's commands."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stackctl import (
    alerting,
    backup,
    health,
    monitoring,
    native,
    ports,
    postgres,
    privileges,
    redis,
    restore,
    secrets_file,
    services,
    startup,
    supervisor,
    system,
    task_user,
)
from stackctl import settings as settings_mod
from stackctl import timeline as timeline_mod
from stackctl.devservices import prepare_dev_files
from stackctl.settings import Settings, SettingsError
from stackctl.timeline import Timeline
from stacksettings import layered

UP_TIMEOUT = float(os.environ.get("STACK_UP_TIMEOUT", "240"))


class Interrupted(Exception):
    """`down` (SIGTERM) or Ctrl-C arrived while `up` was working."""


def echo(message: str) -> None:
    print(message, flush=True)


def _up_pidfile(settings: Settings) -> Path:
    return supervisor.run_dir(settings) / "up.pid"


def _alive(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _state_dir(environ: dict[str, str]) -> Path:
    return settings_mod.state_dir(environ)


def _venv(environ: dict[str, str]) -> Path:
    return Path(environ.get("STACK_VENV") or settings_mod.PROJECT_DIR / ".venv")


def _needs(environ: dict[str, str]) -> dict[str, Path]:
    """What the stack user must be able to read: the checkout, the virtualenv, its Python, the state folder."""
    venv = _venv(environ)
    return {"the checkout": settings_mod.PROJECT_DIR, "the virtualenv": venv,
            # a virtualenv made from a Python under /root (pyenv's, say) does not run for anyone else
            "the virtualenv's Python": (venv / "bin" / "python").resolve(), "the state folder": _state_dir(environ)}


def up(environ: dict[str, str], timeline: Timeline | None = None, show_timeline: bool = False) -> int:
    """Start everything. As root, only the installing, the two users and the state folder are done as root,
    and starting the task user's supervisord when asked; the rest runs as the stack user
    (stackctl/privileges.py), the worker as the task user (stackctl/task_user.py). `timeline`: where the
    steps are recorded (stackctl/timeline.py); it is saved in the state folder."""
    timeline = timeline or Timeline()
    if not privileges.is_root():
        return _up(environ, timeline=timeline, show_timeline=show_timeline)
    root_work = timeline.begin("as root: users, packages, state folder")
    environ = settings_mod.with_env_file(environ)
    state_dir = _state_dir(environ)
    user = privileges.ensure_user(environ.get("STACK_USER") or privileges.DEFAULT_USER, echo)
    if state_dir.exists() and os.stat(state_dir).st_uid == 0 and _alive(state_dir / "run" / "supervisord.pid"):
        raise RuntimeError(f"the stack in {state_dir} was started as root; stop it (./stack down), then `up` "
                           f"starts it again as {user.pw_name}")
    tasks = privileges.ensure_task_user(user, environ.get("STACK_TASK_USER") or task_user.DEFAULT_USER, echo)
    system.ensure_packages(extra=monitoring.packages(environ), echo=echo)
    install_relay(settings_mod.PROJECT_DIR, environ.get("SMEE_URL", ""))
    privileges.hand_over(state_dir, user, echo)
    channel = privileges.Channel(lambda: start_task_supervisord(environ, tasks))
    apart = task_user.Apart(tasks.pw_gid, channel.ask)
    timeline.end(root_work)
    return privileges.run_as("up", user, _needs(environ),
                             lambda: guarded("up", _up, environ, apart, timeline, show_timeline), channel)


def start_task_supervisord(environ: dict[str, str], user) -> str:
    """As root, when the stack user's `up` asks: the task user's supervisord, from its one configuration path.
    Root opens nothing in the state folder: it becomes the task user before it runs supervisord."""
    state_dir = _state_dir(environ)
    venv = _venv(environ)
    needs = {"the checkout": settings_mod.PROJECT_DIR, "the virtualenv": venv,
             "the virtualenv's Python": (venv / "bin" / "python").resolve(),
             "its folder in the state folder": task_user.folder(state_dir)}
    env = {name: os.environ[name] for name in native.PASSTHROUGH if name in os.environ}
    argv = [str(venv / "bin" / "supervisord"), "-c", str(task_user.config_path(state_dir))]
    code = privileges.spawn_as(user, needs, argv, env, 0o007, "task user", "STACK_TASK_USER")
    if code == 0:
        return ""
    return f"the task user's supervisord did not start (exit {code}); see {task_user.folder(state_dir) / 'logs'}"


def install_relay(project_dir: Path, smee_url: str) -> None:
    """The smee relay's npm packages, into the checkout (as root when `up` is: the stack user may not write it)."""
    if smee_url and not (project_dir / "relay" / "node_modules" / "smee-client").is_dir():
        echo("installing the smee relay (npm ci --prefix relay)")
        subprocess.run(["npm", "ci", "--prefix", str(project_dir / "relay"), "--no-audit", "--no-fund"],
                       check=True, stdout=subprocess.DEVNULL, umask=0o022)  # read by the relay's user


def _up(environ: dict[str, str], apart: task_user.Apart | None = None, timeline: Timeline | None = None,
        show_timeline: bool = False) -> int:
    """Everything but the root work. `apart`: the worker runs as the task user (only when `up` runs as root)."""
    timeline = timeline or Timeline()
    preparing = timeline.begin("settings, packages, configuration files")
    state_dir = _state_dir(environ)
    state_dir.mkdir(parents=True, exist_ok=True)
    if apart is None:
        os.chmod(state_dir, 0o700)  # secrets, the database, the broker's messages: nobody else's business
    if layered(environ).get("ENVIRONMENT") != "production":
        written = secrets_file.ensure(state_dir, environ)
        if written:
            echo(f"generated {', '.join(written)} into {state_dir / 'secrets.env'} (mode 0600)")
    settings = settings_mod.load(environ)
    system.ensure_packages(extra=monitoring.packages(settings.values), echo=echo)
    stack = services.load(settings)  # after the packages: it finds their programs
    run = supervisor.run_dir(settings)
    run.mkdir(parents=True, exist_ok=True)
    other = _alive(_up_pidfile(settings))
    if other and other != os.getpid():
        raise RuntimeError(f"another `up` (pid {other}) is working on {settings.state_dir}")
    _up_pidfile(settings).write_text(str(os.getpid()))

    def interrupted(signum, frame):
        raise Interrupted()

    signal.signal(signal.SIGTERM, interrupted)
    started = time.monotonic()
    already = supervisor.is_running(settings)
    try:
        if not already:
            public = {k: v for k, v in settings.ports.items() if k.startswith("PUBLIC_")}
            ports.check_free(public, settings["HAPROXY_BIND"])
            ports.check_free({k: v for k, v in settings.ports.items() if k not in public}, settings["BIND_HOST"])
        elif apart:
            check_groups(settings, apart.gid)
        if postgres.ensure_cluster(settings):
            echo(f"created the PostgreSQL cluster in {native.postgres_dirs(settings)[0]}")
        redis.write_config(settings)
        if monitoring.enabled(settings):
            monitoring.write_configs(settings)
            alerting.write_config(settings)
        Path(settings["DIAGNOSTICS_DIR"]).mkdir(parents=True, exist_ok=True)
        (settings.state_dir / "logs").mkdir(exist_ok=True)
        if apart:
            task_user.prepare(settings, apart.gid)
        else:
            supervisor.shutdown_tasks(settings)
            task_user.forget(settings)
        prepare_dev_files(settings)
        install_relay(settings.project_dir, settings.get("SMEE_URL"))
        supervisor.write_env_files(settings, apart=apart is not None)
        supervisor.config_path(settings).write_text(supervisor.render(settings, apart=apart is not None))
        timeline.end(preparing)
        with timeline.step("supervisord"):
            if already:
                supervisor.reload_config(settings, supervisor.main(settings))
            else:
                supervisor.start_daemon(settings)
            if apart:
                start_task_supervisord_as_asked(settings, apart)
        # A fresh start counts only the Airflow jobs it starts: a job row a killed program left `running`, with a
        # heartbeat seconds old, is not the new program's health (a second allowed for the database's clock)
        since = None if already else time.time() - 1
        results, silent = startup.start(settings, stack, timeline, echo, UP_TIMEOUT, since)  # stackctl/startup.py
        bad = {name: detail for name, (ok, detail) in results.items() if ok is False}
    except Interrupted:
        echo("interrupted: stopping everything this `up` started")
        supervisor.shutdown(settings)
        return 130
    except BaseException:  # any failure, Ctrl-C included: nothing this `up` started is left running
        stop_after_failure(settings, already)
        raise
    finally:
        _up_pidfile(settings).unlink(missing_ok=True)
        timeline.save(settings.state_dir)
    for name, (ok, detail) in results.items():
        if ok is None:
            echo(f"{name}: {detail}")
    if bad or silent:
        for name, detail in bad.items():
            echo(f"NOT HEALTHY after {UP_TIMEOUT:.0f} s: {name}: {detail} (log: {supervisor.log_path(settings, name)})")
        for sentence in silent:
            echo(f"NOT ANSWERING: {sentence}")
        stop_after_failure(settings, already)
        return 1
    echo(f"all {len(results)} services healthy and every public port answering in "
         f"{time.monotonic() - started:.1f} s")
    if show_timeline:
        echo(timeline_mod.render(timeline.as_dict()))
    print_urls(settings)
    return 0


def start_task_supervisord_as_asked(settings: Settings, apart: task_user.Apart) -> None:
    """Write the task user's supervisord configuration; have root start it, or have it re-read it."""
    tasks = supervisor.for_tasks(settings)
    task_user.write_config(settings, supervisor.render_tasks(settings))
    if supervisor.is_running(settings, tasks):
        supervisor.reload_config(settings, tasks)
        return
    # a `down` arriving meanwhile waits until it has started, so it finds it and stops it
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        apart.start_supervisord()
        supervisor.wait_started(tasks)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def check_groups(settings: Settings, gid: int) -> None:
    """A stack started before its programs were in the task user's group cannot read the worker's task logs."""
    pid = int(supervisor.pidfile(settings).read_text())
    with open(f"/proc/{pid}/status") as handle:
        groups = next((line.split()[1:] for line in handle if line.startswith("Groups:")), [])
    if str(gid) not in groups:
        raise RuntimeError(f"the stack in {settings.state_dir} was started before the Celery worker ran as the "
                           f"task user, and its programs could not read the task logs: stop it (./stack down), "
                           f"then `up` starts it again")


def stop_after_failure(settings: Settings, already: bool) -> None:
    """A failed `up` stops supervisord and every program under it, if it started them; the logs stay."""
    if already:
        echo("`up` failed; the stack was running before it and is left running (`./stack down` stops it)")
        return
    if supervisor.is_running(settings) or supervisor.is_running(settings, supervisor.for_tasks(settings)):
        echo(f"`up` failed: stopping everything this `up` started (supervisord, postgres, redis and the rest); "
             f"the logs stay in {settings.state_dir / 'logs'}")
        supervisor.shutdown(settings)


def print_urls(settings: Settings) -> None:
    echo(f"  Airflow UI and API   {settings.public_url('PUBLIC_AIRFLOW_PORT')}   (user "
         f"{settings['_AIRFLOW_WWW_USER_USERNAME']})")
    echo(f"  Deploy webhook       {settings.public_url('PUBLIC_WEBHOOK_PORT')}")
    echo(f"  Flower               {settings.public_url('PUBLIC_FLOWER_PORT')}   (user {settings['FLOWER_USERNAME']})")
    echo(f"  Diagnostic page      {settings.public_url('PUBLIC_DIAGNOSTICS_PORT')}")
    echo(f"  HAProxy stats        {settings.public_url('PUBLIC_STATS_PORT')}/stats")
    where = settings.secrets_file if settings.secrets_file.exists() else "your environment / .env"
    echo(f"  Passwords are in {where}")


def down(environ: dict[str, str]) -> int:
    settings = settings_mod.load(environ)
    pid = _alive(_up_pidfile(settings))
    if pid:
        echo(f"stopping the `up` in progress (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 90
        while _alive(_up_pidfile(settings)) and time.monotonic() < deadline:
            time.sleep(0.2)
    if supervisor.is_running(settings) or supervisor.is_running(settings, supervisor.for_tasks(settings)):
        started = time.monotonic()
        supervisor.shutdown(settings)
        echo(f"stopped in {time.monotonic() - started:.1f} s; state kept in {settings.state_dir}")
    else:
        echo("nothing running")
    return 0


def status(environ: dict[str, str]) -> int:
    settings = settings_mod.load(environ)
    states = supervisor.states(settings)
    if not states:
        echo(f"not running (state folder {settings.state_dir})")
        return 3
    names = list(states)
    results = health.check_all(settings, names)
    healthy = True
    echo(f"{'service':24} {'process':10} health")
    for name in names:
        ok, detail = results.get(name, (None, "process only"))
        if ok is None:  # no health check (or it could not run, the detail says why): the process state decides
            ok = states[name] == "RUNNING"
        healthy &= ok and states[name] == "RUNNING"
        echo(f"{name:24} {states[name]:10} {'ok' if ok else 'FAILING'}: {detail}")
    return 0 if healthy else 1


def logs(environ: dict[str, str], name: str | None, follow: bool, lines: int) -> int:
    settings = settings_mod.load(environ)
    known = [p.name for p in services.load(settings, lenient=True).supervised()]
    targets = [name] if name else known
    if name and name not in known:
        raise RuntimeError(f"no service named {name!r}; known: {', '.join(known)}")
    files = [str(supervisor.log_path(settings, t)) for t in targets if supervisor.log_path(settings, t).exists()]
    if not files:
        echo("no logs yet")
        return 0
    args = ["tail", "-n", str(lines)] + (["-F"] if follow else []) + files
    return subprocess.call(args)


def restart(environ: dict[str, str], name: str) -> int:
    """Restart one supervised program (stop, then start), e.g. after changing its configuration."""
    settings = settings_mod.load(environ)
    if not supervisor.is_running(settings):
        raise RuntimeError(f"the stack is not running (state folder {settings.state_dir})")
    result = supervisor.ctl(settings, supervisor.of(settings, name), "restart", name)
    echo(result.stdout.strip())
    return 0 if "ERROR" not in result.stdout else 1


def backup_command(environ: dict[str, str], to: Path | None, keep: int) -> int:
    """The metadata database and the deploy state into one file (stackctl/backup.py), from a running stack."""
    backup.native_backup(settings_mod.load(environ), to, keep, echo)
    return 0


def restore_command(environ: dict[str, str], file: Path) -> int:
    """A backup into a stopped or fresh stack (stackctl/restore.py). As root, a fresh state folder is given to
    the stack user first, as `up` does: PostgreSQL refuses to run as root."""
    file = file.absolute()
    if privileges.is_root() and privileges.owner_of(_state_dir(environ)) is None:
        environ = settings_mod.with_env_file(environ)
        user = privileges.ensure_user(environ.get("STACK_USER") or privileges.DEFAULT_USER, echo)
        system.ensure_packages(echo=echo)
        privileges.hand_over(_state_dir(environ), user, echo)
        return privileges.run_as("restore", user, _needs(environ),
                                 lambda: restore_command(environ, file))
    restore.restore(settings_mod.load(as_state_owner(environ)), file, echo)
    return 0


def airflow(environ: dict[str, str], args: list[str]) -> int:
    """Run the Airflow CLI with the stack's configuration (the native `docker compose run airflow-cli`)."""
    settings = settings_mod.load(environ)
    env = services.load(settings).cli.env
    # `dags test` runs tasks in this process: what they write where the worker writes too (the diagnostics page,
    # task logs: the task user's group, setgid) must stay writable by the worker, as what the worker writes is
    umask = 0o007 if task_user.is_apart(settings) else 0o027
    return subprocess.call([settings.bin("airflow"), *args], env=env, cwd=settings.project_dir, umask=umask)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="install what is missing, start everything, wait until healthy")
    up_parser.add_argument("--timeline", action="store_true", help="print where the time went (each step, "
                           "each program's start to healthy); kept in run/up-timeline.json of the state folder")
    sub.add_parser("down", help="stop everything; state is kept")
    sub.add_parser("status", help="each service's process state and health")
    log_parser = sub.add_parser("logs", help="show a service's log (all if none named)")
    log_parser.add_argument("service", nargs="?")
    log_parser.add_argument("-f", "--follow", action="store_true")
    log_parser.add_argument("-n", "--lines", type=int, default=50)
    restart_parser = sub.add_parser("restart", help="restart one service")
    restart_parser.add_argument("service")
    backup_parser = sub.add_parser("backup", help="the metadata database and the deploy state into one file, "
                                   "from the running stack (documentation/upgrading.md)")
    backup_parser.add_argument("--to", type=Path, help="folder (default: backups/ in the state folder)")
    backup_parser.add_argument("--keep", type=int, default=backup.DEFAULT_KEEP, help="backups kept in it")
    restore_parser = sub.add_parser("restore", help="a backup into a stopped or fresh stack")
    restore_parser.add_argument("file", type=Path)
    airflow_parser = sub.add_parser("airflow", help="the Airflow CLI with this stack's settings, "
                                    "e.g. dags test weather-checker")
    airflow_parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    os.umask(0o027)  # whatever ./stack writes into the state folder is closed to other users
    return guarded(args.command, run, args, dict(os.environ))


def run(args: argparse.Namespace, environ: dict[str, str]) -> int:
    if args.command == "up":
        return up(environ, show_timeline=args.timeline)
    if args.command == "restore":
        return restore_command(environ, args.file)
    environ = as_state_owner(environ)
    if args.command == "down":
        return down(environ)
    if args.command == "status":
        return status(environ)
    if args.command == "logs":
        return logs(environ, args.service, args.follow, args.lines)
    if args.command == "restart":
        return restart(environ, args.service)
    if args.command == "backup":
        return backup_command(environ, args.to, args.keep)
    return airflow(environ, args.args)


def as_state_owner(environ: dict[str, str]) -> dict[str, str]:
    """As root, become the state folder's owner (the stack user) for good: root then signals no pid from its
    pidfiles, and the Airflow CLI writes no root-owned file into its folder. `.env` is read first, as root."""
    owner = privileges.owner_of(_state_dir(environ))
    if owner is None:
        return environ
    environ = settings_mod.with_env_file(environ)
    privileges.drop_to(owner, _needs(environ))
    return environ


def guarded(command: str, function, *args) -> int:
    """Run a command; an error we expect is one sentence on stderr (exit 2), not a traceback."""
    try:
        return function(*args)
    except (SettingsError, ports.PortInUse, system.MissingSystemPackage, RuntimeError) as error:
        print(f"stack {command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
