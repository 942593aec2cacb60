"""Run the compose stack as a user would (`docker compose ... up -d --wait`) and talk to it through HAProxy only."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from stackctl import compose, compose_env
from stackctl.ports import first_ephemeral, is_free
from stacktest.api import PUBLIC, StackApi
from stacktest.deploys import StackOrigin

PROJECT = Path(__file__).resolve().parents[1]
MAIN_FILE = PROJECT / "docker-compose.yaml"
WORKER_FILE = PROJECT / "docker-compose.worker.yaml"
# Every port compose publishes on the host, and the order of the block the test picks for them.
HOST_PORTS = ("PUBLIC_AIRFLOW_PORT", "PUBLIC_WEBHOOK_PORT", "PUBLIC_FLOWER_PORT", "PUBLIC_DIAGNOSTICS_PORT",
              "PUBLIC_STATS_PORT", "PUBLIC_HTTPS_PORT", "PUBLIC_WORKER_API_PORT", "PUBLIC_WORKER_POSTGRES_PORT",
              "PUBLIC_WORKER_REDIS_PORT", "PUBLIC_MONITORING_PORT")
ORIGIN_IN_CONTAINER = "/opt/airflow/origin.git"
TEST_DAGS = PROJECT / "tests" / "compose" / "dags"
PROBE_DAG = PROJECT / "tests" / "integration" / "dags" / "task_isolation.py"  # stacktest/isolation.py
DOCKER = "/usr/bin/docker"  # Debian's CLI, which has the compose plugin (/usr/local/bin/docker may not)
IMAGE_UID = "50000"  # the Airflow image's user: a mounted origin must be its own, or git calls it dubious
# Docker's default address pools: remote workers reach HAProxy's worker ports from these in the tests.
DOCKER_NETWORKS = "172.16.0.0/12 192.168.0.0/16"
_BIND_ERROR = re.compile(r"(?:0\.0\.0\.0|\[::\]|[\d.]+):(\d+).*(?:port is already allocated|address already in use)")


class ComposeError(RuntimeError):
    """`docker compose` failed; the message is what a user needs to act on."""


def free_port_block() -> dict[str, str]:
    """Consecutive host ports for every published port, all free now."""
    for _ in range(200):  # below the ephemeral range, as stacktest.native.free_port_offset says why
        base = random.randrange(10000, first_ephemeral() - len(HOST_PORTS), 20)
        ports = {name: base + i for i, name in enumerate(HOST_PORTS)}
        if all(is_free("0.0.0.0", port) for port in ports.values()):
            return {name: str(port) for name, port in ports.items()}
    raise RuntimeError("no free block of host ports found")


def test_env(origin: bool = True) -> dict[str, str]:
    """What a newcomer's `python3 -m stackctl.compose_env` writes, with ports that do not clash and the dev
    profile on; plus the origin repository and remote-worker sources the tests need."""
    text = compose_env.render((PROJECT / ".env.example").read_text())
    env = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    env.update({"AIRFLOW_PROJ_DIR": str(PROJECT),
                "WORKER_ALLOWED_SOURCES": DOCKER_NETWORKS, **free_port_block()})
    if origin:
        env["DEPLOY_REPO_URL"] = ORIGIN_IN_CONTAINER
    return env


def bind_error_message(output: str, env: dict[str, str]) -> str | None:
    """Compose's "port is already allocated" turned into a sentence naming the port and its variable."""
    match = _BIND_ERROR.search(output)
    if not match:
        return None
    port = match.group(1)
    names = [name for name in HOST_PORTS if env.get(name) == port] or ["(not one of ours)"]
    return f"host port {port} ({', '.join(names)}) is already in use: free it or set {names[0]} in .env"


def make_origin(root: Path, owner: str | None = IMAGE_UID) -> StackOrigin:
    """A bare origin holding this checkout's DAGs plus the compose tests' own, owned by `owner` (the image's
    user, for a compose stack that mounts it; None keeps it the caller's)."""
    origin = StackOrigin(root / "origin.git", root / "clone")
    tracked = subprocess.run(["git", "ls-files", "dags"], cwd=PROJECT, capture_output=True, text=True,
                             check=True).stdout.split()
    sources = [(PROJECT / name, name) for name in tracked]
    sources += [(path, f"dags/{path.name}") for path in (*TEST_DAGS.glob("*.py"), PROBE_DAG)]
    for source, name in sources:
        (origin.work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, origin.work / name)
    origin.commit({}, "The stack's DAGs and the compose tests' DAGs (#1)")
    if owner:
        subprocess.run(["chown", "-R", f"{owner}:0", str(origin.bare)], check=True)
    return origin


@dataclass
class ComposeStack(StackApi):
    """A compose project of the test: its .env, files and URLs, and `compose(...)` to drive it."""

    project: str
    workdir: Path
    env: dict[str, str]
    docker: str = DOCKER
    files: tuple[Path, ...] = (MAIN_FILE,)
    up_seconds: float = 0.0
    origin: object | None = None

    @property
    def env_file(self) -> Path:
        return self.workdir / f"{self.project}.env"

    def write(self, origin: Path | None = None, readers: tuple[str, ...] = ("airflow-init", "webhook")) -> None:
        """Write the .env and, when there is an origin, an override that mounts it into the services that read
        it (`readers`) where DEPLOY_REPO_URL says."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))
        self.env_file.chmod(0o600)
        if origin is not None:
            mount = {"volumes": [f"{origin}:{ORIGIN_IN_CONTAINER}"]}
            override = self.workdir / f"{self.project}.origin.yaml"
            override.write_text(json.dumps({"services": dict.fromkeys(readers, mount)}, indent=2))
            self.files = (*self.files, override)

    def command(self, *args: str) -> list[str]:
        files = [arg for path in self.files for arg in ("-f", str(path))]
        return [self.docker, "compose", "--project-name", self.project, "--project-directory", str(PROJECT),
                "--env-file", str(self.env_file), *files, *args]

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise ComposeError(self.explain(args, result))
        return result

    def explain(self, args: tuple[str, ...], result: subprocess.CompletedProcess) -> str:
        output = result.stderr + result.stdout
        return bind_error_message(output, self.env) or (
            f"docker compose {' '.join(args)} failed ({result.returncode}):\n{output[-3000:]}")

    def up(self, timeout: float = 900) -> None:
        """Build the project image, then `up -d --wait`; on failure say which service and show its logs."""
        self.compose("build", "--quiet", timeout=timeout)
        started = time.monotonic()
        result = self.compose("up", "-d", "--wait", "--wait-timeout", str(int(timeout)), timeout=timeout + 60,
                              check=False)
        self.up_seconds = time.monotonic() - started
        if result.returncode != 0:
            states = self.compose("ps", "--all", "--format", "{{.Service}} {{.State}} {{.Health}}", check=False)
            logs = self.compose("logs", "--no-color", "--tail", "25", check=False).stdout
            raise ComposeError(f"{self.explain(('up',), result)}\n{states.stdout}\n{logs[-6000:]}")

    def down(self) -> subprocess.CompletedProcess:
        return self.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", check=False)

    def states(self) -> dict[str, tuple[str, str]]:
        """service -> (state, health) of every container of the project, stopped ones included."""
        out = self.compose("ps", "--all", "--format", "json").stdout
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {row["Service"]: (row["State"], row.get("Health", "")) for row in rows}

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks and volumes labelled with this project (what `down -v` must remove)."""
        label = f"label=com.docker.compose.project={self.project}"
        found = {}
        for kind, listing in (("containers", ["ps", "--all"]), ("networks", ["network", "ls"]),
                              ("volumes", ["volume", "ls"])):
            out = subprocess.run([self.docker, *listing, "--quiet", "--filter", label], capture_output=True,
                                 text=True, timeout=60).stdout
            found[kind] = out.split()
        return found

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env[PUBLIC[name]]}"

    @property
    def settings(self) -> dict[str, str]:
        return self.env

    @property
    def admin(self) -> tuple[str, str]:
        return self.value("_AIRFLOW_WWW_USER_USERNAME"), self.env["_AIRFLOW_WWW_USER_PASSWORD"]

    @property
    def flower_auth(self) -> tuple[str, str]:
        return self.value("FLOWER_USERNAME"), self.env["FLOWER_PASSWORD"]

    def value(self, name: str) -> str:
        """The variable as Compose resolves it: the project's .env, else compose.defaults.env's default."""
        return self.env.get(name) or compose.defaults()[name]
