"""Run the DAG import check of a tree in a child process with the same Python and Airflow.

A long-lived server process imports Airflow once and forks a fresh child per check, so a deploy only
pays for parsing, and no module of one commit can leak into the next check. The server runs with an
allow-listed environment (validation_env.py) and a private, empty HOME: DAG code sees none of the webhook's
secrets.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from webhook.deploy import validation_env

log = logging.getLogger(__name__)
# Starting the server (importing Airflow) is not part of a check's time budget.
START_TIMEOUT = 120.0
PROJECT_DIR = Path(__file__).resolve().parents[2]


class ValidationError(RuntimeError):
    """The check itself could not run (timeout, crash); the deploy fails rather than publish blind.

    `detail` is the end of the check's own output, which DAG code can write to: never shown publicly."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


class Validator:
    """`check(tree)` sends one job to the server (started on first use, or at once when warm)."""

    def __init__(self, timeout: float, bundle_name: str, warm: bool = True):
        self.timeout = timeout
        self.bundle_name = bundle_name
        self._lock = threading.Lock()
        self._server: subprocess.Popen | None = None
        self._home: Path | None = None
        if warm:
            self._server = self._spawn()

    def _spawn(self) -> subprocess.Popen:
        self._remove_home()
        self._home = Path(tempfile.mkdtemp(prefix="dag-validation-"))
        env = validation_env.build(os.environ, self._home, PROJECT_DIR)
        return subprocess.Popen(
            [sys.executable, "-m", "webhook.deploy.validate_dags", "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=PROJECT_DIR, env=env, text=True, bufsize=1,
            # Its own process group, so a timeout kills the server and the child it forked.
            start_new_session=True,
        )

    def check(self, dags_folder: Path, output: Path) -> dict:
        """Validate one folder; raise ValidationError if no report came back in time."""
        log_path = output.with_suffix(".log")
        job = {"dags_folder": str(dags_folder), "output": str(output), "log": str(log_path),
               "bundle_name": self.bundle_name}
        with self._lock:
            if self._server is None or self._server.poll() is not None:
                self._server = self._spawn()
            server = self._server
            try:
                if not getattr(server, "ready", False):
                    self._answer(server, START_TIMEOUT, "starting the DAG validation server")
                    server.ready = True
                server.stdin.write(json.dumps(job) + "\n")
                server.stdin.flush()
                answer = self._answer(server, self.timeout, "DAG validation")
            except (OSError, ValidationError):
                self._kill()
                raise
        try:
            return json.loads(output.read_text())
        except (OSError, ValueError):
            tail = _tail(log_path)
            raise ValidationError(f"DAG validation crashed (exit {answer.get('rc')})", tail) from None

    def _answer(self, server: subprocess.Popen, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ValidationError(f"{what} timed out after {timeout:g}s")
            ready, _, _ = select.select([server.stdout], [], [], min(left, 1.0))
            if ready:
                line = server.stdout.readline()
                if not line:
                    raise ValidationError("DAG validation server exited unexpectedly")
                return json.loads(line)

    def _kill(self) -> None:
        if self._server is not None:
            try:
                os.killpg(self._server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._server.wait()
            for pipe in (self._server.stdin, self._server.stdout):
                pipe.close()
            self._server = None
        self._remove_home()

    def _remove_home(self) -> None:
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    def close(self) -> None:
        with self._lock:
            self._kill()


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no output"
    return lines[-1][:300] if lines else "no output"
