"""Issue 9: `./stack up` run as root runs no program as root, and the state folder is closed to other users."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import psutil
import pytest

from stackctl.privileges import DEFAULT_USER
from tests.integration.test_stack_lifecycle import processes_under

pytestmark = pytest.mark.integration


def stack_processes(state_dir: Path) -> list[psutil.Process]:
    """supervisord and everything under it (task processes included), plus whatever names the state folder."""
    supervisord = psutil.Process(int((state_dir / "run" / "supervisord.pid").read_text()))
    found = {p.pid: p for p in [supervisord, *supervisord.children(recursive=True), *processes_under(state_dir)]}
    return list(found.values())


def expected_owner(native_stack) -> str:
    """The stack user as root (STACK_USER, by default gitops-airflow), else whoever runs the tests."""
    if os.geteuid() == 0:
        return native_stack.env.get("STACK_USER") or DEFAULT_USER
    return pwd.getpwuid(os.geteuid()).pw_name


def test_no_process_of_the_stack_runs_as_root(native_stack):
    processes = stack_processes(native_stack.state_dir)
    assert len(processes) >= 14, [p.name() for p in processes]  # supervisord, its 14 programs and their children
    owner = pwd.getpwnam(expected_owner(native_stack))
    wrong = []
    for process in processes:
        try:
            uids, gids = process.uids(), process.gids()
        except psutil.NoSuchProcess:
            continue
        if {*uids, *gids} != {owner.pw_uid, owner.pw_gid}:
            wrong.append(f"{process.pid} {' '.join(process.cmdline())[:100]}: uids {uids}, gids {gids}")
    assert not wrong, "\n".join(wrong)


def test_nothing_in_the_state_folder_is_open_to_other_users(native_stack):
    # the Airflow CLI as root (it writes logs and caches) adds no root-owned file either
    result = native_stack.run("airflow", "dags", "list", "-o", "plain")
    assert result.returncode == 0, result.stderr[-2000:]
    state = native_stack.state_dir
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    owner = pwd.getpwnam(expected_owner(native_stack)).pw_uid
    paths = [Path(folder) / name for folder, dirs, files in os.walk(state) for name in dirs + files]
    assert len(paths) > 100  # logs, the cluster, Airflow's home, the diagnostics page...
    open_to_others, not_owned = [], []
    for path in paths:
        try:
            info = path.lstat()
        except FileNotFoundError:  # a temporary file gone meanwhile
            continue
        if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o007:
            open_to_others.append(f"{path} {oct(stat.S_IMODE(info.st_mode))}")
        if info.st_uid != owner:
            not_owned.append(f"{path} uid {info.st_uid}")
    assert not open_to_others, "\n".join(open_to_others)
    assert not not_owned, "\n".join(not_owned)
