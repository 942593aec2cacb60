"""Run one program so that nothing it started outlives it (the native stack's tini/dumb-init).

supervisord sees this process; the program runs as its child. Signals supervisord sends (TERM to stop) go to
the program alone, so a Celery worker shuts down warm and lets its tasks finish, as `DUMB_INIT_SETSID=0` does
under compose. This process is a child subreaper: whatever the program leaves behind is re-parented here
instead of to init. When the program ends, for any reason, `kill -9` included, every process still under us is
sent SIGTERM, then SIGKILL after a grace period, and we exit with the program's status so supervisord
restarts it. Without this, a SIGKILLed Celery worker left its running task's process and a helper process
behind (documentation/reliability.md).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
# Leftovers get this long after SIGTERM before SIGKILL.
GRACE_SECONDS = 5.0

_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def _die_with_parent() -> None:
    """In the program, before exec: if this reaper is killed, the program is killed too."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def descendants(root: int) -> list[int]:
    """Every live process under `root` (by parent links in /proc), excluding zombies."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _reap() -> None:
    """Collect every exited child (re-parented orphans included) so none stays a zombie."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def end_leftovers(grace: float = GRACE_SECONDS) -> list[int]:
    """SIGTERM everything still under us, SIGKILL what remains after `grace` s; return who was there."""
    me = os.getpid()
    left = descendants(me)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        # again at SIGKILL: whatever was started during the grace period goes too
        current = descendants(me) if sig == signal.SIGKILL else left
        left = sorted(set(left) | set(current))
        for pid in current:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 5.0)
        while time.monotonic() < deadline:
            _reap()
            if not descendants(me):
                _reap()  # the last ones may have become zombies since
                return left
            time.sleep(0.1)
    _reap()
    return left


def execute(argv: list[str], env: dict[str, str]) -> None:
    """Become the program (exec, the PATH of `env` searched); on failure exit 127 with a sentence naming it."""
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as error:
        print(f"stackctl: cannot run {argv[0]}: {error.strerror}", file=sys.stderr, flush=True)
        os._exit(127)


def run(argv: list[str], env: dict[str, str]) -> int:
    """Run the program to its end, forwarding signals, then end its leftovers; return its exit status."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    # fork and exec by hand: subprocess's imports alone were a third of this resident process
    program = os.fork()
    if program == 0:
        try:
            _die_with_parent()
        finally:
            execute(argv, env)

    def forward(signum, _frame):
        try:
            os.kill(program, signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    while True:  # orphans re-parented here are collected as they exit, so none lingers as a zombie
        pid, raw = os.wait()
        if pid == program:
            status = os.waitstatus_to_exitcode(raw)
            break
    left = end_leftovers()
    if left:
        print(f"stackctl: {argv[0]} ended ({status}); ended {len(left)} process(es) it left behind: "
              f"{', '.join(map(str, sorted(left)))}", flush=True)
    return 128 - status if status < 0 else status
