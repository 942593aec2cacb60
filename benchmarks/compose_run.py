"""The compose stack as a variant of stack_benchmark: what a native run measures, read from a compose project.

Each run is a fresh project (new volumes) on free host ports, in GitOps mode on a bare origin mounted into it, the
development profile on, worker concurrency 4 (compose's default). A program is a compose service; its memory is
the PSS of every process in its container, read on the host like the native figures, and its CPU is its
container's cgroup (which also holds the processes of its health checks, run by the engine inside it). The Docker
engine's own processes (dockerd, containerd, the shims) are a row of their own, counted apart as the development
fakes are: the engine serves whatever else runs on the host too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from benchmarks import processes
from stacktest.compose import DOCKER, ComposeStack, make_origin, test_env

ENGINE = "docker engine"
ENGINE_PROGRAMS = ("dockerd", "containerd", "containerd-shim-runc-v2")


def unavailable(docker: str | None = None) -> str | None:
    """None when a Docker engine answers; else what to do, in a sentence. (Missing base images show as the
    build's own error: `.venv/bin/python -m tests.compose.images.build` builds them.)"""
    docker = docker or DOCKER
    try:
        version = subprocess.run([docker, "version", "--format", "{{.Server.Version}}"], capture_output=True,
                                 text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"no Docker CLI at {docker}: {error}"
    if version.returncode != 0:
        return "no Docker engine answers: start dockerd (as root: `dockerd &`; README.md, the compose layer)"
    return None


def containers(stack: ComposeStack) -> dict[str, int]:
    """service -> the host pid of its container's first process, for every running container of the project."""
    rows = [json.loads(line) for line in stack.compose("ps", "--format", "json").stdout.splitlines() if line.strip()]
    found = {}
    for row in rows:
        pid = subprocess.run([stack.docker, "inspect", "--format", "{{.State.Pid}}", row["ID"]], capture_output=True,
                             text=True, check=True).stdout.strip()
        if pid.isdigit() and int(pid):
            found[row["Service"]] = int(pid)
    return found


def family(pid: int) -> list[int]:
    try:
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return []


def title(pid: int, workdir: Path) -> str:
    try:
        return processes.role(processes.command_line(psutil.Process(pid)), str(workdir))
    except psutil.Error:
        return "?"


def engine_pids() -> list[int]:
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] in ENGINE_PROGRAMS]


def cgroup_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of the cgroup the process is in (cgroup v1 cpuacct or v2), None when it cannot be read."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            usage = Path("/sys/fs/cgroup/cpuacct") / path.lstrip("/") / "cpuacct.usage"
            if usage.exists():
                return int(usage.read_text()) / 1e9
        if controllers == "" and path != "/":
            stat = Path("/sys/fs/cgroup") / path.lstrip("/") / "cpu.stat"
            if stat.exists():
                fields = dict(line.split() for line in stat.read_text().splitlines())
                return int(fields["usage_usec"]) / 1e6
    return None


def pss_by_service(stack: ComposeStack) -> dict[str, float]:
    found = {service: processes.pss_of(set(family(pid))) for service, pid in containers(stack).items()}
    found[ENGINE] = processes.pss_of(set(engine_pids()))
    return found


def cpu_by_service(stack: ComposeStack) -> dict[str, float]:
    """service -> CPU seconds so far (a snapshot, like processes.cpu_by_program)."""
    found = {}
    for service, pid in containers(stack).items():
        seconds = cgroup_cpu_seconds(pid)
        found[service] = seconds if seconds is not None else sum(processes.cpu_seconds(p) for p in family(pid))
    found[ENGINE] = sum(processes.cpu_seconds(p) for p in engine_pids())
    return found


def by_process(stack: ComposeStack) -> list[tuple[str, str, float]]:
    rows = [(service, title(p, stack.workdir), processes.pss_mib(p))
            for service, root in containers(stack).items() for p in family(root)]
    return sorted(rows, key=lambda row: -row[2])


class ComposeRun:
    """One fresh compose project for one run: `with ComposeRun() as stack:`; removed with its volumes after."""

    def __init__(self, env: dict[str, str] | None = None, timeout: float = 900):
        self.timeout = timeout
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-compose-"))
        self.workdir.chmod(0o755)
        self.origin = make_origin(self.workdir)
        self.stack = ComposeStack(f"bench-{uuid.uuid4().hex[:6]}", self.workdir, {**test_env(), **(env or {})})
        self.stack.write(self.origin.bare)

    def __enter__(self) -> ComposeStack:
        try:
            self.stack.up(self.timeout)  # builds first (not timed), then `up -d --wait` (timed)
        except BaseException:
            self.__exit__()
            raise
        return self.stack

    def restart(self) -> float | None:
        """`docker compose down` (volumes kept) and `up -d --wait` again, as a user's second start: its seconds."""
        self.stack.compose("down", "--timeout", "20", timeout=300)
        started = time.monotonic()
        result = self.stack.compose("up", "-d", "--wait", "--wait-timeout", "600", timeout=660, check=False)
        if result.returncode != 0:
            print(f"the second `up` failed:\n{self.stack.explain(('up',), result)}")
            return None
        return time.monotonic() - started

    def __exit__(self, *exc) -> None:
        self.stack.down()
        shutil.rmtree(self.workdir, ignore_errors=True)
