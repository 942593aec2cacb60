"""Issue 9: `./stack up` run as root runs no program as root, the Celery worker (every task) as the task user
and the rest as the stack user, and the state folder is closed to other users and, but for what the worker
needs, to the task user."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

import psutil
import pytest

from stackctl.privileges import DEFAULT_USER
from stackctl.task_user import DEFAULT_USER as DEFAULT_TASK_USER
from stacktest.native import processes_under

pytestmark = pytest.mark.integration


def tree(pidfile: Path) -> list[psutil.Process]:
    """A supervisord and everything under it (task processes included)."""
    supervisord = psutil.Process(int(pidfile.read_text()))
    return [supervisord, *supervisord.children(recursive=True)]


def stack_processes(state_dir: Path) -> list[psutil.Process]:
    """Both supervisords and everything under them, plus whatever names the state folder."""
    found = {p.pid: p for p in [*tree(state_dir / "run" / "supervisord.pid"), *processes_under(state_dir)]}
    if (state_dir / "tasks" / "run" / "supervisord.pid").exists():
        found.update({p.pid: p for p in tree(state_dir / "tasks" / "run" / "supervisord.pid")})
    return list(found.values())


def expected_owner(native_stack) -> str:
    """The stack user as root (STACK_USER, by default gitops-airflow), else whoever runs the tests."""
    if os.geteuid() == 0:
        return native_stack.env.get("STACK_USER") or DEFAULT_USER
    return pwd.getpwuid(os.geteuid()).pw_name


def task_user(native_stack) -> pwd.struct_passwd | None:
    """The task user as root (STACK_TASK_USER, by default gitops-airflow-tasks); without root there is none."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam(native_stack.env.get("STACK_TASK_USER") or DEFAULT_TASK_USER)


def command_of(pid: int) -> str:
    """Its command line; empty for one that has just ended (a task process its parent has not waited for yet)."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.NoSuchProcess:  # ZombieProcess too
        return ""


def groups(process: psutil.Process) -> set[int]:
    """Its supplementary groups."""
    with open(f"/proc/{process.pid}/status") as handle:
        return {int(g) for line in handle if line.startswith("Groups:") for g in line.split()[1:]}


def test_the_worker_runs_as_the_task_user_the_rest_as_the_stack_user_none_as_root(native_stack):
    state = native_stack.state_dir
    processes = stack_processes(state)
    assert len(processes) >= 15, [p.name() for p in processes]  # 2 supervisords, 14 programs, their children
    owner, tasks = pwd.getpwnam(expected_owner(native_stack)), task_user(native_stack)
    worker = {p.pid for p in tree(state / "tasks" / "run" / "supervisord.pid")} if tasks else set()
    if tasks:  # its supervisord, the launcher, the Celery worker and its pool
        assert len(worker) >= 4 and any("celery" in command_of(pid) for pid in worker)
    wrong = []
    for process in processes:
        user = tasks if process.pid in worker else owner
        try:
            uids, gids = process.uids(), process.gids()
            extra = groups(process)
            command = " ".join(process.cmdline())[:100]
        except (psutil.NoSuchProcess, FileNotFoundError):
            continue
        # the stack user is in the task user's group (task logs, the worker's control socket); never the reverse
        allowed = {user.pw_gid} | ({tasks.pw_gid} if tasks and user == owner else set())
        if {*uids} != {user.pw_uid} or {*gids} != {user.pw_gid} or not extra <= allowed:
            wrong.append(f"{process.pid} {command}: uids {uids}, gids {gids}, groups {sorted(extra)}")
    assert not wrong, "\n".join(wrong)


# Where the task user may write (its group, setgid); the rest of what its group may read is listed below.
TASK_WRITES = ("logs/airflow", "diagnostics", "tasks/run", "tasks/logs", "tasks/home")
TASK_READS = ("tasks/supervisord.conf", "tasks/airflow-worker.json", "tasks/gitconfig", "deploy/mirror.git")


def task_group_may_read(where: str) -> bool:
    return where == "tasks" or where.startswith(TASK_WRITES + TASK_READS)


def test_nothing_in_the_state_folder_is_open_to_other_users(native_stack):
    # the Airflow CLI as root (it writes logs and caches) adds no root-owned file either
    result = native_stack.run("airflow", "dags", "list", "-o", "plain")
    assert result.returncode == 0, result.stderr[-2000:]
    state = native_stack.state_dir
    tasks = task_user(native_stack)
    assert stat.S_IMODE(state.stat().st_mode) == (0o710 if tasks else 0o700)
    owner = pwd.getpwnam(expected_owner(native_stack)).pw_uid
    paths = [Path(folder) / name for folder, dirs, files in os.walk(state) for name in dirs + files]
    assert len(paths) > 100  # logs, the cluster, Airflow's home, the diagnostics page...
    open_to_others, not_owned, open_to_tasks = [], [], []
    for path in paths:
        try:
            info = path.lstat()
        except FileNotFoundError:  # a temporary file gone meanwhile
            continue
        where = path.relative_to(state).as_posix()
        if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o007:
            open_to_others.append(f"{path} {oct(stat.S_IMODE(info.st_mode))}")
        task_may_write = tasks and where.startswith(TASK_WRITES)
        if info.st_uid != owner and not (task_may_write and info.st_uid == tasks.pw_uid):
            not_owned.append(f"{path} uid {info.st_uid}")
        # the task user's group may read (or, for a folder, list) only what the worker needs
        if tasks and info.st_gid == tasks.pw_gid and info.st_mode & 0o040 and not task_group_may_read(where):
            open_to_tasks.append(f"{path} {oct(stat.S_IMODE(info.st_mode))}")
    assert not open_to_others, "\n".join(open_to_others)
    assert not not_owned, "\n".join(not_owned)
    assert not open_to_tasks, "\n".join(open_to_tasks)
    if tasks:
        assert grp.getgrgid(state.stat().st_gid).gr_name == grp.getgrgid(tasks.pw_gid).gr_name
        stack_group = grp.getgrgid(pwd.getpwnam(expected_owner(native_stack)).pw_gid).gr_name
        assert stack_group not in [g.gr_name for g in grp.getgrall() if tasks.pw_name in g.gr_mem]
