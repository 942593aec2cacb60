"""Run the native stack as an unprivileged user when `./stack` runs as root.

As root, `up` does only what needs root: it installs the system packages, creates the stack user (STACK_USER,
default gitops-airflow) and gives it the state folder. Everything else (the secrets, PostgreSQL's initdb,
supervisord and so every program under it) runs in a child process that has given up root for good. The other
commands (status, logs, restart, down, airflow) run as the state folder's owner. Root thus never reads, writes
or signals anything the stack user controls: no file in its folder, no pid in its pidfiles.

supervisord itself runs as the stack user, rather than as root with `user=` on each program: no program needs
root (HAProxy binds only ports above 1024, PostgreSQL refuses root), and a root supervisord would be a root
process re-reading, on every `up`, a configuration in a folder the stack user can write, and serving a control
socket. The cost: one user for every program, and PostgreSQL runs as that user too (a cluster an older `up`
created as the `postgres` user is handed over with the rest of the folder).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

DEFAULT_USER = "gitops-airflow"


def is_root() -> bool:
    return os.geteuid() == 0


def ensure_user(name: str, echo: Callable[[str], None]) -> pwd.struct_passwd:
    """The stack user, created when missing as a system user with no home and no login shell."""
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        user = _create_user(name, echo)
    if user.pw_uid == 0:
        raise RuntimeError(f"STACK_USER={name} is root; the stack's programs run as an unprivileged user "
                           f"(unset STACK_USER for {DEFAULT_USER})")
    return user


def _create_user(name: str, echo: Callable[[str], None]) -> pwd.struct_passwd:
    command = [shutil.which("useradd") or "/usr/sbin/useradd", "--system", "--user-group", "--no-create-home",
               "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name]
    try:
        result = subprocess.run(command, capture_output=True, text=True)
        problem = result.stderr.strip() or f"useradd exited with {result.returncode}"
    except OSError as error:
        result, problem = None, str(error)
    try:
        user = pwd.getpwnam(name)  # created now, or by another `up` at the same moment
    except KeyError:
        raise RuntimeError(f"could not create the system user {name} that runs the stack's programs ({problem}); "
                           f"create it (useradd --system --no-create-home --shell /usr/sbin/nologin {name}) "
                           f"or set STACK_USER to an existing unprivileged user") from None
    if result is not None and result.returncode == 0:
        echo(f"created the system user {name}; the stack's programs run as it")
    return user


def hand_over(state_dir: Path, user: pwd.struct_passwd, echo: Callable[[str], None]) -> None:
    """Give the state folder to the stack user (mode 0700): a new one, or one that root owns (a fresh temporary
    folder, or an older `up`'s, with a cluster owned by `postgres`). A folder of another user is refused."""
    for path in reversed([state_dir, *state_dir.parents]):
        if not path.exists():
            path.mkdir()
            os.chmod(path, 0o755)  # the umask would close the folders on the way to the stack user's
    owner = os.lstat(state_dir).st_uid
    if owner == user.pw_uid:
        return
    if owner != 0:
        name = _user_name(owner)
        raise RuntimeError(f"the state folder {state_dir} belongs to {name}, not to the stack user {user.pw_name}: "
                           f"run ./stack as {name}, set STACK_USER={name}, or give the folder to {user.pw_name} "
                           f"(chown -R {user.pw_name}: {state_dir})")
    count = _give_tree(state_dir, user.pw_uid, user.pw_gid)
    if count:
        echo(f"gave {state_dir} ({count} files and folders) to {user.pw_name}, closed to other users")


def _give_tree(top: Path, uid: int, gid: int) -> int:
    """chown everything under `top`, then `top`; take "other" permissions away. Bottom-up through directory file
    descriptors without following symbolic links: a folder is handed over only once its contents are, so the
    new owner cannot swap an entry (for a link to /etc, say) while root is still at work below it."""
    count = 0
    for _, dirs, files, fd in os.fwalk(top, topdown=False, follow_symlinks=False):
        for name in dirs + files:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            os.chown(name, uid, gid, dir_fd=fd, follow_symlinks=False)
            if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o007:
                os.chmod(name, stat.S_IMODE(info.st_mode) & ~0o007, dir_fd=fd)
            count += 1
    os.chown(top, uid, gid, follow_symlinks=False)
    os.chmod(top, 0o700)
    return count


def owner_of(state_dir: Path) -> pwd.struct_passwd | None:
    """The user that `./stack` run as root acts as for this state folder: its owner, unless that is root (or the
    folder does not exist yet). None when not root."""
    if not is_root():
        return None
    try:
        uid = os.stat(state_dir).st_uid
    except FileNotFoundError:
        return None
    if uid == 0:
        return None
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        raise RuntimeError(f"the state folder {state_dir} belongs to uid {uid}, which is no user of this machine; "
                           f"give it to the stack user (chown -R {DEFAULT_USER}: {state_dir})") from None


def drop_to(user: pwd.struct_passwd, needs: dict[str, Path]) -> None:
    """Become `user` for good (groups, then gid, then uid), then check it can read everything in `needs`
    (what -> path)."""
    os.initgroups(user.pw_name, user.pw_gid)
    os.setresgid(user.pw_gid, user.pw_gid, user.pw_gid)
    os.setresuid(user.pw_uid, user.pw_uid, user.pw_uid)
    os.environ.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
    for what, path in needs.items():
        _check_reachable(user.pw_name, what, path)


def _check_reachable(name: str, what: str, path: Path) -> None:
    if os.access(path, os.R_OK | os.X_OK):
        return
    blocked = path
    for parent in reversed(path.parents):
        if not os.access(parent, os.X_OK):
            blocked = parent
            break
    try:
        info = os.stat(blocked)
        detail = f"mode {oct(stat.S_IMODE(info.st_mode))}, owner {_user_name(info.st_uid)}"
    except OSError as error:
        detail = error.strerror or str(error)
    where = f", {what}" if blocked == path else f" on the way to {what}, {path}"
    raise RuntimeError(f"the stack user {name} cannot enter {blocked} ({detail}){where}. The checkout, the "
                       f"virtualenv and its Python, and the state folder must all be readable by that user: open "
                       f"the folders above them (chmod o+x), move them, or set STACK_USER. A virtualenv made from "
                       f"a Python under /root (pyenv's, say): remove it, and ./stack makes a new one from a Python "
                       f"every user can run")


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def run_as(command: str, user: pwd.struct_passwd, needs: dict[str, Path], work: Callable[[], int]) -> int:
    """Run `work` in a child process that has become `user` for good; return its exit code.

    The parent only waits: SIGTERM is passed on to the child, Ctrl-C reaches the child from the terminal.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            drop_to(user, needs)
            code = work()
        except SystemExit as error:
            code = error.code if isinstance(error.code, int) else 1
        except RuntimeError as error:
            print(f"stack {command}: {error}", file=sys.stderr)
            code = 2
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    previous = (signal.signal(signal.SIGTERM, lambda signum, frame: os.kill(child, signum)),
                signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        _, status = os.waitpid(child, 0)
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code
