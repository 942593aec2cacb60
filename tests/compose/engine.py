"""A Docker engine with Compose v2 for the compose test layer: installed when missing, started when stopped.

Debian 12's own docker.io (20.10) is too old for `healthcheck.start_interval` (Engine >= 25), so the engine,
its CLI, buildx and the Compose plugin come from Debian 13 (trixie), pinned low so nothing else moves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from stacktest.compose import DOCKER

MIN_ENGINE = (25, 0)
TRIXIE_PACKAGES = ("docker.io", "docker-cli", "docker-buildx", "docker-compose")
TRIXIE_SOURCE = Path("/etc/apt/sources.list.d/gitops-airflow-trixie.sources")
TRIXIE_PIN = Path("/etc/apt/preferences.d/gitops-airflow-trixie")


class EngineUnavailable(RuntimeError):
    """No usable Docker engine here; the message is one line saying why."""


def _run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(list(args), 124, "", f"timed out after {timeout:g}s")
    except FileNotFoundError as exc:
        return subprocess.CompletedProcess(list(args), 127, "", str(exc))


def client_ready() -> bool:
    return _run(DOCKER, "compose", "version").returncode == 0 and shutil.which("mmdebstrap") is not None


def install() -> None:
    """Install the engine and Compose from trixie (only these packages), and mmdebstrap from bookworm."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise EngineUnavailable("Docker with Compose v2 is not installed and this is not root on Debian: install "
                                "docker.io (Engine >= 25), docker-compose (v2) and mmdebstrap")
    TRIXIE_SOURCE.write_text("Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\n"
                             "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    TRIXIE_PIN.write_text("Package: *\nPin: release n=trixie\nPin-Priority: 100\n")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    steps = (["apt-get", "update", "-qq"],
             # "name/trixie" takes only these from trixie; their dependencies stay bookworm's
             ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
              *(f"{name}/trixie" for name in TRIXIE_PACKAGES), "mmdebstrap", "iptables"])
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, env=env, timeout=900)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise EngineUnavailable(f"installing Docker failed at `{' '.join(step)}`: {last[0]}")


def engine_version() -> tuple[int, int] | None:
    result = _run(DOCKER, "version", "--format", "{{.Server.Version}}", timeout=20)
    if result.returncode != 0:
        return None
    major, _, rest = result.stdout.strip().partition(".")
    minor = rest.partition(".")[0]
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


class Engine:
    """`with Engine(log) as docker:` a running engine; stopped at the end only if this started it."""

    def __init__(self, log: Path, start_timeout: float = 60):
        self.log = log
        self.start_timeout = start_timeout
        self.daemon: subprocess.Popen | None = None

    def __enter__(self) -> str:
        if not client_ready():
            install()
        if engine_version() is None:
            self._start()
        version = engine_version()
        if version is None or version < MIN_ENGINE:
            self.__exit__()
            raise EngineUnavailable(f"Docker Engine {version} is older than {MIN_ENGINE[0]}.{MIN_ENGINE[1]} "
                                    "(healthcheck start_interval needs 25): install docker.io from trixie")
        return DOCKER

    def _start(self) -> None:
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        if not os.path.exists(dockerd):
            raise EngineUnavailable("dockerd is not installed (Debian: docker.io)")
        if os.geteuid() != 0:
            raise EngineUnavailable("no Docker engine is running and only root can start dockerd here")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.daemon = subprocess.Popen([dockerd], stdout=out, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while engine_version() is None:
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                tail = self.log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise EngineUnavailable(f"dockerd did not start within {self.start_timeout:g}s: {tail[0][:300]}")
            time.sleep(0.5)

    def __exit__(self, *exc) -> None:
        if self.daemon is None:
            return
        self.daemon.terminate()
        try:
            self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait()
        self.daemon = None
