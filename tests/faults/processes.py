"""The processes of one native stack, found by the state folder in their environment (as root, all of them)."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    cmdline: str


def _read(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except (OSError, ValueError, IndexError):
        return None
    return Proc(pid, ppid, cmdline)


def stack_processes(state_dir: Path) -> list[Proc]:
    """Every live process whose environment names this state folder (supervisord sets it for every program)."""
    marker = f"STACK_STATE_DIR={state_dir}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if marker not in handle.read().split(b"\0"):
                    continue
        except OSError:
            continue
        proc = _read(int(entry))
        if proc and proc.cmdline:
            found.append(proc)
    return found


def all_processes() -> list[Proc]:
    return [proc for entry in os.listdir("/proc") if entry.isdigit() and (proc := _read(int(entry)))]


def tree(root: int) -> set[int]:
    """`root` and every process under it, by parent links (programs rename themselves, so names won't do)."""
    children: dict[int, list[int]] = {}
    for proc in all_processes():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (zombies count as gone)."""
    living = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] != "Z":
                    living.add(pid)
        except OSError:
            pass
    return living


def wait_gone(pids: set[int], timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def program_pid(state_dir: Path, name: str) -> int:
    """The program itself (the child of its stackctl.reaper), e.g. the Celery worker's main process."""
    [launcher] = [p for p in stack_processes(state_dir) if p.cmdline.endswith(f"-m stackctl.launch {name}")]
    [program] = [p for p in all_processes() if p.ppid == launcher.pid]
    return program.pid


def task_process_pid(state_dir: Path, timeout: float = 30) -> int:
    """The running task's own process ("airflow worker -- <task instance id>", under the Celery worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        under = tree(program_pid(state_dir, "airflow-worker"))
        found = [p.pid for p in all_processes() if p.pid in under and p.cmdline.startswith("airflow worker --")]
        if found:
            return found[0]
        time.sleep(0.2)
    raise TimeoutError("no task process found under the Celery worker")


def kill(pid: int) -> set[int]:
    """SIGKILL one process; return the processes that were under it, which must all end with it."""
    under = tree(pid)
    os.kill(pid, signal.SIGKILL)
    return under


def children(pid: int) -> set[int]:
    return {p.pid for p in all_processes() if p.ppid == pid}


def lease_holder(deploy_dir: Path, name: str) -> int | None:
    """The process holding a lease ("runner", "deploy") of the webhook's state database; None if none or gone."""
    try:
        db = sqlite3.connect(f"file:{deploy_dir / 'state.sqlite'}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT pid FROM leases WHERE name = ?", (name,)).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return rows[0][0] if rows and alive({rows[0][0]}) else None
