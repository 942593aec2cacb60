"""The task user: as root, `./stack up` runs the Celery worker, and so every task, as a user of its own.

Every other program runs as the stack user (stackctl/privileges.py), which holds the stack's credentials: the
state folder's secrets.env, each program's run/env/<name>.json, the processes whose /proc/<pid>/environ carries
the JWT signing secret. A task is code any DAG author writes; run as that user it could read all of it and
mint an admin token. Run as another uid (STACK_TASK_USER, default gitops-airflow-tasks) it can read none of it,
/proc environments included, without any rule to keep.

What the task user may use is given to it through its group, of which the stack user is a member (the other way
round it would read everything the stack user's group may): the folders below get that group, setgid so what
is created inside keeps it. It may pass through the state folder and its logs and deploy folders without
listing them; write task logs (the api-server reads them, the triggerer adds its own) and the diagnostics page;
read the deploy mirror (its git objects, written by the webhook) and, in a folder of its own that it cannot
change, its supervisord's configuration, its environment file and a git configuration that trusts the mirror
(git refuses a repository another user owns, safe.directory); and write its home (Airflow home, DAG bundles).

The worker runs under a supervisord of its own, run as the task user (stackctl/supervisor.py, for_tasks); root
starts it when `up`, already running as the stack user, asks (privileges.Channel). See privileges.py for why.
Without root (one user for everything) none of this applies: documentation/security.md, "Known limits".
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stackctl.settings import Settings

DEFAULT_USER = "gitops-airflow-tasks"
WORKER = "airflow-worker"  # the one program that runs as the task user: tasks run in it


@dataclass(frozen=True)
class Apart:
    """What `up`, running as the stack user, needs to run the worker as the task user."""

    gid: int  # the task user's group
    start_supervisord: Callable[[], None]  # root starts the task user's supervisord (privileges.Channel)


def folder(state_dir: Path) -> Path:
    """The task user's own folder in the state folder (the stack user's, read-only for the task user)."""
    return state_dir / "tasks"


def config_path(state_dir: Path) -> Path:
    """Its supervisord's configuration; it exists only while the worker runs apart."""
    return folder(state_dir) / "supervisord.conf"


def is_apart(settings: Settings) -> bool:
    """Whether the last `up` ran the worker as the task user."""
    return config_path(settings.state_dir).exists()


def home(settings: Settings) -> Path:
    return folder(settings.state_dir) / "home"


def gitconfig(settings: Settings) -> Path:
    return folder(settings.state_dir) / "gitconfig"


def mirror(settings: Settings) -> Path:
    return settings.state_dir / "deploy" / "mirror.git"


def shared_folders(settings: Settings) -> dict[Path, tuple[int, bool]]:
    """Folder -> (mode, whether what is already inside is shared too), all with the task user's group.

    0710: the task user may pass through, not list. 2770: it writes there. 2750: it reads.
    """
    state, own = settings.state_dir, folder(settings.state_dir)
    folders = {
        state: (0o710, False),
        state / "logs": (0o710, False),  # supervisord's logs stay the stack user's
        state / "logs" / "airflow": (0o2770, True),
        Path(settings["DIAGNOSTICS_DIR"]): (0o2770, True),
        own: (0o2750, False),
        own / "run": (0o2770, False),  # its supervisord's pidfile and control socket
        own / "logs": (0o2770, False),
        home(settings): (0o2770, False),
    }
    if settings["DAG_SOURCE"] == "gitops":
        folders[state / "deploy"] = (0o710, False)  # the webhook's history, keys and work stay closed
        folders[mirror(settings)] = (0o2750, True)
    return folders


def prepare(settings: Settings, gid: int) -> None:
    """As the stack user (a member of `gid`): give the task user what it needs, and nothing else."""
    for path, (mode, tree) in shared_folders(settings).items():
        path.mkdir(parents=True, exist_ok=True)
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
            raise RuntimeError(f"{path} is not a folder of the stack user's; remove it, then `up` makes it again")
        if tree and info.st_gid != gid:
            _share_contents(path, gid, mode)  # once: from then on what is created inside inherits the group
        os.chown(path, -1, gid)
        os.chmod(path, mode)
    text = "# Written by `./stack up`: git as the task user may read the stack user's deploy mirror.\n" \
           f"[safe]\n\tdirectory = {mirror(settings)}\n"
    _write(gitconfig(settings), text)


def _share_contents(top: Path, gid: int, mode: int) -> None:
    """Give what the stack user owns under `top` the group, with the folders' group bits of `mode` (setgid
    included) and, for files, read (and write where the task user writes). Before the first `up` that shares a
    folder the task user had no access to it, so nothing in it is the task user's doing; links are left alone
    all the same."""
    me = os.geteuid()
    for _, dirs, files, fd in os.fwalk(top, follow_symlinks=False):
        for name in dirs + files:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode) or info.st_uid != me:
                continue
            os.chown(name, -1, gid, dir_fd=fd, follow_symlinks=False)
            extra = mode & 0o2070 if stat.S_ISDIR(info.st_mode) else mode & 0o060
            os.chmod(name, stat.S_IMODE(info.st_mode) | extra, dir_fd=fd)


def _write(path: Path, text: str) -> None:
    """A file the task user reads and cannot change (its folder is the stack user's): group from the folder."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o640)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_spec(settings: Settings, text: str) -> Path:
    """The worker's argv and environment, where the task user can read them (see supervisor.write_env_files)."""
    path = folder(settings.state_dir) / f"{WORKER}.json"
    _write(path, text)
    return path


def write_config(settings: Settings, text: str) -> None:
    """Its supervisord's configuration: the task user reads it and cannot change it."""
    _write(config_path(settings.state_dir), text)


def worker_environment(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """The worker's environment as the task user: a home, an Airflow home and a DAG bundle store of its own
    (the stack user's are closed to it), and git told to trust the mirror another user owns."""
    own = home(settings)
    return {**env, "HOME": str(own), "AIRFLOW_HOME": str(own),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(own / "dag_bundles"),
            "GIT_CONFIG_GLOBAL": str(gitconfig(settings))}


def forget(settings: Settings) -> None:
    """A `up` without a task user: the worker runs under the stack user's supervisord again."""
    for name in ("supervisord.conf", f"{WORKER}.json"):
        (folder(settings.state_dir) / name).unlink(missing_ok=True)
