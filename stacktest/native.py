"""Start the native stack in a temporary folder and talk to it only through HAProxy, as a user would."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from stackctl.ports import first_ephemeral, is_free
from stackctl.settings import PORT_DEFAULTS, PROJECT_DIR, read_env_file
from stacktest.api import PUBLIC, StackApi


def free_port_offset() -> int:
    """An offset that moves every default port onto a free one, so stacks and other tests can coexist. Every port
    stays below the ephemeral range: there, the stack's own connections to PostgreSQL and Redis took a port
    between the check and the api-server's bind (CI, 2026-11-30: "address already in use" for 4 minutes)."""
    low = 1024 - min(PORT_DEFAULTS.values())
    high = first_ephemeral() - max(PORT_DEFAULTS.values())
    for _ in range(200):
        offset = random.randrange(low, high, 10)
        if abs(offset) < 100:  # a developer's own stack on the defaults
            continue
        if all(is_free("127.0.0.1", port + offset) for port in PORT_DEFAULTS.values()):
            return offset
    raise RuntimeError("no free set of ports found")


def new_state_dir() -> Path:
    """A fresh state folder in /tmp, which the stack user can reach (pytest's own temp folders are private to
    root); as root, `up` gives it to the stack user."""
    return Path(tempfile.mkdtemp(prefix="stack-test-"))


def processes_under(state_dir) -> list[psutil.Process]:
    """Processes whose command line mentions the state folder (supervisord, postgres, the launcher...)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            text = " ".join(proc.info["cmdline"] or []) + " " + (proc.info["environ"] or {}).get("STACK_STATE_DIR", "")
        except (psutil.Error, TypeError):
            continue
        if str(state_dir) in text and proc.pid != os.getpid():
            found.append(proc)
    return found


@dataclass
class NativeStack(StackApi):
    """A running native stack: its environment, its URLs and a few API helpers."""

    state_dir: Path
    env: dict[str, str]
    up_output: str = ""

    @classmethod
    def start(cls, state_dir: Path, extra_env: dict[str, str] | None = None) -> NativeStack:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STACK_", "PUBLIC_"))}
        env.update({"STACK_STATE_DIR": str(state_dir), "STACK_PORT_OFFSET": str(free_port_offset()),
                    "STACK_ENV_FILE": "", "STACK_VENV": os.environ.get("STACK_VENV", sys.prefix),
                    "PYTHONPATH": str(PROJECT_DIR)})
        env.update(extra_env or {})
        stack = cls(state_dir, env)
        result = stack.run("up", timeout=600)
        stack.up_output = result.stdout + result.stderr
        if result.returncode != 0:
            logs = stack.run("logs", "-n", "30").stdout
            stack.run("down")
            raise RuntimeError(f"./stack up failed ({result.returncode}):\n{stack.up_output}\n{logs}")
        return stack

    @classmethod
    @contextlib.contextmanager
    def running(cls, extra_env: dict[str, str] | None = None, state_dir: Path | None = None) -> Iterator[NativeStack]:
        """A stack started in `state_dir` (default: a new one), stopped and its folder removed on exit."""
        state_dir = state_dir or new_state_dir()
        try:
            stack = cls.start(state_dir, extra_env)
            try:
                yield stack
            finally:
                stack.stop()
        finally:
            shutil.rmtree(state_dir, ignore_errors=True)

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "stackctl", *args], env=self.env, cwd=PROJECT_DIR,
                              capture_output=True, text=True, timeout=timeout)

    def stop(self) -> None:
        self.run("down", timeout=180)

    @property
    def settings(self) -> dict[str, str]:
        values = read_env_file(self.state_dir / "secrets.env")
        offset = int(self.env["STACK_PORT_OFFSET"])
        values.update({name: str(port + offset) for name, port in PORT_DEFAULTS.items()})
        values.update({k: v for k, v in self.env.items() if k in PORT_DEFAULTS})
        return values

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.settings[PUBLIC[name]]}"

    @property
    def admin(self) -> tuple[str, str]:
        return self.env.get("_AIRFLOW_WWW_USER_USERNAME", "admin"), self.settings["_AIRFLOW_WWW_USER_PASSWORD"]

    @property
    def flower_auth(self) -> tuple[str, str]:
        return self.env.get("FLOWER_USERNAME", self.admin[0]), self.settings["FLOWER_PASSWORD"]

