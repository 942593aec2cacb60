"""Run the DAG import check of a tree in a child process with the same Python and Airflow.

A child is started ahead of time and has Airflow imported already, so a deploy only pays for parsing.
Each child validates one tree and exits: no module of one commit can leak into the next check.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)
PROJECT_DIR = Path(__file__).resolve().parents[2]


class ValidationError(RuntimeError):
    """The check itself could not run (timeout, crash); the deploy fails rather than publish blind."""


class Validator:
    """Keeps one warm child ready; `check(tree)` hands it the job and waits for the report."""

    def __init__(self, timeout: float, bundle_name: str, warm: bool = True):
        self.timeout = timeout
        self.bundle_name = bundle_name
        self.warm = warm
        self._lock = threading.Lock()
        self._child: subprocess.Popen | None = None
        if warm:
            self._child = self._spawn()

    def _spawn(self) -> subprocess.Popen:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_DIR), env.get("PYTHONPATH")) if p)
        return subprocess.Popen(
            [sys.executable, "-m", "webhook.deploy.validate_dags", "--job"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=PROJECT_DIR, env=env, text=True,
        )

    def check(self, dags_folder: Path, output: Path) -> dict:
        """Validate one folder; raise ValidationError if no report came back in time."""
        with self._lock:
            child = self._child if self._child and self._child.poll() is None else self._spawn()
            self._child = self._spawn() if self.warm else None
        job = json.dumps({"dags_folder": str(dags_folder), "output": str(output),
                          "bundle_name": self.bundle_name})
        try:
            _, stderr = child.communicate(job + "\n", timeout=self.timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise ValidationError(f"DAG validation timed out after {self.timeout:g}s") from None
        try:
            return json.loads(output.read_text())
        except (OSError, ValueError):
            tail = (stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise ValidationError(f"DAG validation crashed (exit {child.returncode}): {tail[0]}") from None

    def close(self) -> None:
        with self._lock:
            if self._child and self._child.poll() is None:
                self._child.kill()
                self._child.communicate()
            self._child = None
