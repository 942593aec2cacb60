"""Run the native stack as unprivileged users when `./stack` runs as root.

As root, `up` does only what needs root: it installs the system packages, creates the stack user (STACK_USER,
default gitops-airflow) and the task user (STACK_TASK_USER, default gitops-airflow-tasks, stackctl/task_user.py)
and gives the stack user the state folder. Everything else (the secrets, PostgreSQL's initdb, supervisord and
so every program under it) runs in a child process that has given up root for good. The Celery worker, where
tasks run, runs as the task user under a supervisord of its own, which root starts when that child asks
(Channel below). The other commands (status, logs, restart, down, airflow) run as the state folder's owner.
Root thus never reads, writes or signals anything the unprivileged users control: no file in their folders, no
pid in their pidfiles.

Two supervisords, each run as its user, rather than one as root with `user=` on each program. No program needs
root (HAProxy binds only ports above 1024, PostgreSQL refuses root), and a root supervisord would open, for as
long as the stack runs, its configuration, its log and every program's log by path, rotating them by renaming:
in a folder the stack user can write, a symbolic link would point root at any file of the machine, so all of it
would have to move to a root-owned place outside the state folder, and `status`, `restart` and `down` would
talk to a root process's control socket. Here the one thing root does for the stack user is fixed: run
`supervisord -c <state>/tasks/supervisord.conf` as the task user. What the stack user writes in that file runs
as the task user, who holds less than the stack user already does (and cannot change the file). The cost: a
second supervisord, asked through its socket (the stack user is in the task user's group) since the stack user
cannot signal it; if it dies, the next `up` as root starts it.
PostgreSQL runs as the stack user too (a cluster an older `up` created as the `postgres` user is handed over
with the rest of the folder).
"""

from __future__ import annotations

import grp
import os
import pwd
import select
import shutil
import signal
import stat
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from stackctl import task_user

DEFAULT_USER = "gitops-airflow"


def is_root() -> bool:
    return os.geteuid() == 0


def ensure_user(name: str, echo: Callable[[str], None], variable: str = "STACK_USER", default: str = DEFAULT_USER,
                runs: str = "the stack's programs") -> pwd.struct_passwd:
    """The stack user (or, with `variable` STACK_TASK_USER, the task user), created when missing as a system
    user with no home and no login shell."""
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        user = _create_user(name, echo, variable, runs)
    if user.pw_uid == 0:
        raise RuntimeError(f"{variable}={name} is root; {runs} run as an unprivileged user "
                           f"(unset {variable} for {default})")
    return user


def ensure_task_user(stack: pwd.struct_passwd, name: str, echo: Callable[[str], None]) -> pwd.struct_passwd:
    """The task user: another user, with a group of its own, of which the stack user is a member."""
    user = ensure_user(name, echo, "STACK_TASK_USER", task_user.DEFAULT_USER, "the Celery worker and every task")
    if user.pw_uid == stack.pw_uid or user.pw_gid == stack.pw_gid:
        raise RuntimeError(f"STACK_TASK_USER={name} shares its user or group with STACK_USER={stack.pw_name}; "
                           f"tasks need a user and a group of their own "
                           f"(unset STACK_TASK_USER for {task_user.DEFAULT_USER})")
    group = grp.getgrgid(user.pw_gid)
    if stack.pw_name not in group.gr_mem:
        command = [shutil.which("usermod") or "/usr/sbin/usermod", "--append", "--groups", group.gr_name,
                   stack.pw_name]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"could not add {stack.pw_name} to the group {group.gr_name} ({result.stderr.strip()}): "
                               f"the stack's programs read task logs through it. As root: {' '.join(command)}")
        echo(f"added {stack.pw_name} to the group {group.gr_name} (it reads the task logs and controls the worker)")
    return user


def _create_user(name: str, echo: Callable[[str], None], variable: str = "STACK_USER",
                 runs: str = "the stack's programs") -> pwd.struct_passwd:
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
        raise RuntimeError(f"could not create the system user {name} that runs {runs} ({problem}); "
                           f"create it (useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "
                           f"{name}) or set {variable} to an existing unprivileged user") from None
    if result is not None and result.returncode == 0:
        echo(f"created the system user {name}; {runs} run as it")
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


def drop_to(user: pwd.struct_passwd, needs: dict[str, Path], role: str = "stack user",
            variable: str = "STACK_USER") -> None:
    """Become `user` for good (groups, then gid, then uid), then check it can read everything in `needs`
    (what -> path)."""
    os.initgroups(user.pw_name, user.pw_gid)
    os.setresgid(user.pw_gid, user.pw_gid, user.pw_gid)
    os.setresuid(user.pw_uid, user.pw_uid, user.pw_uid)
    os.environ.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
    for what, path in needs.items():
        _check_reachable(user.pw_name, what, path, role, variable)


def _check_reachable(name: str, what: str, path: Path, role: str = "stack user",
                     variable: str = "STACK_USER") -> None:
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
    # the folder itself must be listed and read; a folder above it only passed through
    fix = f"chmod o+rx {blocked}" if blocked == path else f"chmod o+x {blocked}"
    raise RuntimeError(f"the {role} {name} cannot enter {blocked} ({detail}){where}. The checkout, the "
                       f"virtualenv and its Python, and the state folder must all be readable by that user: open "
                       f"the way ({fix}), move them, or set {variable}. A virtualenv made from "
                       f"a Python under /root (pyenv's, say): remove it, and ./stack makes a new one from a Python "
                       f"every user can run")


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class Channel:
    """How a child that gave up root asks its root parent for the one thing it may not do itself, `action`
    (start the task user's supervisord), and hears back. The request carries nothing: what root does is fixed
    before the child exists. `action` returns "" when done, else a sentence the child raises."""

    def __init__(self, action: Callable[[], str]):
        self.action = action
        self._requests = os.pipe()
        self._answers = os.pipe()

    def ask(self) -> None:
        """In the child: have root do it; RuntimeError with root's sentence if it failed."""
        os.write(self._requests[1], b"?")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = os.read(self._answers[0], 4096)
            if not chunk:
                raise RuntimeError("the root `up` that started this one is gone")
            answer += chunk
        if answer.strip():
            raise RuntimeError(answer.decode().strip())

    def _keep(self, side: str) -> None:
        child = side == "child"
        for fd in (self._requests[0], self._answers[1]) if child else (self._requests[1], self._answers[0]):
            os.close(fd)

    def _serve(self, child: int) -> int:
        """In the parent: do what is asked until the child ends; return its wait status."""
        while True:
            ready, _, _ = select.select([self._requests[0]], [], [], 1.0)
            if ready and os.read(self._requests[0], 1):
                try:
                    answer = self.action()
                except Exception as error:  # noqa: BLE001 - the child says it, with the rest of its output
                    answer = f"{type(error).__name__}: {error}"
                os.write(self._answers[1], answer.replace("\n", " ").encode() + b"\n")
                continue
            pid, status = os.waitpid(child, 0 if ready else os.WNOHANG)  # end of file: the child is ending
            if pid:
                return status


def run_as(command: str, user: pwd.struct_passwd, needs: dict[str, Path], work: Callable[[], int],
           channel: Channel | None = None) -> int:
    """Run `work` in a child process that has become `user` for good; return its exit code.

    The parent only waits (and does what the child asks through `channel`): SIGTERM is passed on to the child,
    Ctrl-C reaches the child from the terminal.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            if channel:
                channel._keep("child")
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
        if channel:
            channel._keep("parent")
            status = channel._serve(child)
        else:
            _, status = os.waitpid(child, 0)
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def spawn_as(user: pwd.struct_passwd, needs: dict[str, Path], argv: list[str], env: dict[str, str],
             umask: int, role: str, variable: str) -> int:
    """Run `argv` as `user` (for good, from before exec) and wait for it; return its exit code. A daemon
    (supervisord) returns once it has detached. A path in `needs` the user cannot reach is one sentence."""
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.umask(umask)
            drop_to(user, needs, role, variable)
            os.execve(argv[0], argv, env)
        except RuntimeError as error:
            print(f"stack up: {error}", file=sys.stderr)
            code = 2
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code
