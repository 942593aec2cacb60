"""The deploy webhook alone, run as the native stack runs it (gunicorn under stackctl.reaper, its config, several
workers, the runner thread), on a state folder of its own and fetching a real local origin; no Airflow behind
it, and no supervisord: a test restarts it with start()."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from stacktest.net import free_port
from tests.faults.processes import children, lease_holder, tree, wait_gone
from tests.webhook.conftest import KEY

PROJECT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT / "scripts" / "trigger_deploy.py"
# what `python -m stackctl.launch webhook` does, without the state folder's run/env
REAPER = "import os, sys; from stackctl import reaper; sys.exit(reaper.run(sys.argv[1:], dict(os.environ)))"


@dataclass
class Webhook:
    state_dir: Path
    repo_url: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def deploy_dir(self) -> Path:
        return self.state_dir / "deploy"

    def start(self, timeout: float = 60) -> Webhook:
        env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "HOME": str(self.state_dir),
               "PYTHONPATH": str(PROJECT), "STACK_STATE_DIR": str(self.state_dir), "WEBHOOK_PORT": str(self.port),
               "BIND_HOST": "127.0.0.1", "DEPLOY_REPO_URL": self.repo_url, "WEBHOOK_KEY": KEY,
               # no fallback poll: only the requests a test sends are deployed
               "DEPLOY_POLL_INTERVAL": "0", "WEBHOOK_LOG_LEVEL": "info"}
        if self.proc is not None:
            self.proc.wait(30)  # started again after a kill: the old one has ended
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = (self.state_dir / "webhook.log").open("ab")
        gunicorn = [sys.executable, "-m", "gunicorn", "--config", "webhook/gunicorn.conf.py", "webhook:create_app()"]
        self.proc = subprocess.Popen([sys.executable, "-c", REAPER, *gunicorn], cwd=PROJECT, env=env, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the webhook did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)
        # the runner's leader builds its warm validation server before it takes work
        self.wait_leader(timeout)
        return self

    def wait_leader(self, timeout: float = 60) -> int:
        """The worker leading the deploy runner (it holds the "runner" lease of the state database)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = lease_holder(self.deploy_dir, "runner")
            if pid and pid in self.workers():
                return pid
            time.sleep(0.2)
        raise TimeoutError("no worker leads the deploy runner")

    def master(self) -> int:
        """gunicorn's master process, the reaper's child."""
        [master] = children(self.proc.pid)
        return master

    def workers(self) -> set[int]:
        under_reaper = children(self.proc.pid) if self.proc else set()
        return children(under_reaper.pop()) if len(under_reaper) == 1 else set()

    def log(self) -> str:
        return (self.state_dir / "webhook.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is None:
            return
        everything = tree(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        for pid in wait_gone(everything, timeout=15):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        self.proc = None

    def deploy_record(self, deploy_id: str) -> dict:
        """GET /deploys/<id>, its public fields (what anyone, the Action included, can read)."""
        return requests.get(f"{self.url}/deploys/{deploy_id}", timeout=10).json()

    def history(self) -> list[dict]:
        """The status page's deploys (public fields), oldest first."""
        page = requests.get(self.url + "/", headers={"Accept": "application/json"}, timeout=10).json()
        return list(reversed(page["deploys"]))

    def healthy(self) -> bool:
        try:
            return requests.get(self.url + "/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def trigger(self, commit: str, timeout: float = 120, **popen) -> subprocess.Popen:
        """The GitHub Action's step against this webhook, started in the background."""
        env = {"PATH": os.environ["PATH"], "WEBHOOK_KEY": KEY, "WEBHOOK_ADDRESS": self.url + "/webhook",
               "DEPLOY_COMMIT": commit}
        return subprocess.Popen([sys.executable, "-I", str(SCRIPT), "--timeout", str(timeout),
                                 "--retry-delay", "1"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **popen)
