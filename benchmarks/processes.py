"""What each program of a running native stack costs: PSS and CPU time, per program and per process.

A program is one child of a supervisord of the stack (`python -m stackctl.launch NAME`, or postgres and redis
directly) with everything under it. CPU time counts the processes that came and went too: a parent's
`children_user`/`children_system` hold what its reaped children used (the launcher is a child subreaper).
"""

from __future__ import annotations

import configparser
import re
import xmlrpc.client
from dataclasses import dataclass

import psutil

from stacktest.native import processes_under

LAUNCHER = "stackctl.launch"
# Development stand-ins: they never run in production, so the memory goal leaves them out.
DEV_FAKES = ("fake-onepassword", "fake-slack", "fixture-server")


@dataclass(frozen=True)
class Member:
    pid: int
    program: str
    role: str  # the process's own title (setproctitle names gunicorn, celery and Airflow's children)
    launcher: bool  # the stackctl.launch reaper in front of a program


def command_line(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def program_name(argv: list[str]) -> str:
    """`python -m stackctl.launch airflow-scheduler` -> airflow-scheduler; `/usr/lib/.../postgres -D ...` ->
    postgres; a supervisord -> supervisord."""
    if LAUNCHER in argv and argv.index(LAUNCHER) + 1 < len(argv):
        return argv[argv.index(LAUNCHER) + 1]
    text = " ".join(argv)
    if "supervisord" in text:
        return "supervisord"
    head = argv[0].split("/")[-1] if argv else "?"
    return re.sub(r"[:\s].*", "", head) or "?"


def role(argv: list[str], state_dir: str) -> str:
    """A short, secret-free title of one process: its program and the words that tell its job."""
    text = " ".join(argv).replace(state_dir, "$STATE")
    text = re.sub(r"/\S*/(python3?[\d.]*|airflow|gunicorn|celery)\b", r"\1", text)
    text = re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)  # a URL's password, should one show
    return text[:80]


def supervised_names(argv: list[str]) -> dict[int, str]:
    """pid -> program name, as the supervisord started with `argv` (`-c CONF`) calls its programs: a program
    the launcher became (exec) shows its own command line, not `stackctl.launch NAME`. {} when not asked."""
    try:
        conf = configparser.RawConfigParser()
        conf.read(argv[argv.index("-c") + 1])
        socket = conf.get("unix_http_server", "file")
        from supervisor.xmlrpc import SupervisorTransport

        server = xmlrpc.client.ServerProxy("http://127.0.0.1", SupervisorTransport(serverurl=f"unix://{socket}"))
        return {info["pid"]: info["name"] for info in server.supervisor.getAllProcessInfo() if info["pid"]}
    except (ValueError, IndexError, configparser.Error, OSError, xmlrpc.client.Error):
        return {}


def members(state_dir) -> list[Member]:
    """Every process of the stack, each with the program it belongs to."""
    found: list[Member] = []
    roots = [p for p in processes_under(state_dir) if "supervisord" in " ".join(command_line(p))]
    for sup in roots:
        found.append(Member(sup.pid, "supervisord", role(command_line(sup), str(state_dir)), False))
        names = supervised_names(command_line(sup))
        try:
            children = sup.children()
        except psutil.Error:
            continue
        for child in children:
            argv = command_line(child)
            name = names.get(child.pid) or program_name(argv)
            found.append(Member(child.pid, name, role(argv, str(state_dir)), LAUNCHER in argv))
            try:
                below = child.children(recursive=True)
            except psutil.Error:
                below = []
            found += [Member(p.pid, name, role(command_line(p), str(state_dir)), False) for p in below]
    return found


def pss_mib(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_full_info().pss / 2**20
    except psutil.Error:
        return 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time of the process and of its children it has reaped."""
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return t.user + t.system + t.children_user + t.children_system


def program_of(member: Member) -> str:
    """The row a member is counted in: its program, or the launchers' row for the reapers in front of them."""
    return "launchers (stackctl.launch)" if member.launcher else member.program


def by_program(state_dir) -> dict[str, float]:
    """Program -> PSS MiB, whole families."""
    totals: dict[str, float] = {}
    for m in members(state_dir):
        totals[program_of(m)] = totals.get(program_of(m), 0.0) + pss_mib(m.pid)
    return totals


def cpu_by_program(state_dir) -> dict[str, float]:
    """Program -> CPU seconds so far (a snapshot; two of them give the CPU used between them)."""
    totals: dict[str, float] = {}
    for m in members(state_dir):
        totals[program_of(m)] = totals.get(program_of(m), 0.0) + cpu_seconds(m.pid)
    return totals


def by_process(state_dir) -> list[tuple[str, str, float]]:
    """(program, process title, PSS MiB) for every process, biggest first."""
    rows = [(program_of(m), m.role, pss_mib(m.pid)) for m in members(state_dir)]
    return sorted(rows, key=lambda row: -row[2])


def pss_of(pids: set[int]) -> float:
    """PSS MiB of these processes together (shared pages counted once across them)."""
    return sum(pss_mib(pid) for pid in pids)


def total_pss_mib(state_dir) -> tuple[float, int]:
    """PSS MiB of every process of the stack, and how many there are."""
    pids = {m.pid for m in members(state_dir)}
    return pss_of(pids), len(pids)
