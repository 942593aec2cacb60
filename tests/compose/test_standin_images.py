"""The stand-in images (tests/compose/images) honour the parts of the official images' contracts that our compose
files rely on. Every test runs real containers on the local engine and removes them, and its network, afterwards.
The engine (and the skip when there is none) comes from the `docker_engine` fixture of tests/compose/conftest.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.compose.images.build import BASE, STANDINS, StandinError, build_image, ensure_images, host_python

pytestmark = pytest.mark.compose

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = "apache/airflow:3.3.2-python3.11"
POSTGRES = "postgres:15"
REDIS = "redis:7.0"
HAPROXY = "haproxy:2.6"
NODE = "node:22.11.0-bookworm-slim"


def docker(client: str, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run the docker client; with check, a failure fails the test with docker's own words."""
    result = subprocess.run([client, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def version(text: str) -> tuple[int, ...]:
    """The first dotted version number in a text, as a tuple."""
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    assert found, f"no version in {text!r}"
    return tuple(int(part) for part in found.groups())


def config(client: str, image: str) -> dict:
    """An image's Config (user, env, entrypoint, cmd, stop signal, volumes)."""
    return json.loads(docker(client, "image", "inspect", "--format", "{{json .Config}}", image).stdout)


def wait_for(check, seconds: float = 60) -> None:
    """Poll until check() is true, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"still not ready after {seconds} s"
        time.sleep(0.5)


class Sandbox:
    """A test's network and containers; close() removes them all, whatever happened."""

    def __init__(self, client: str) -> None:
        self.client = client
        self.prefix = f"standin-test-{uuid.uuid4().hex[:8]}"
        self.names: list[str] = []
        docker(client, "network", "create", self.prefix)

    def _name(self) -> str:
        self.names.append(f"{self.prefix}-{len(self.names)}")
        return self.names[-1]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """`docker run` to completion on the network; the result whatever its exit code."""
        return docker(self.client, "run", "--rm", "--name", self._name(), "--network", self.prefix, *args,
                      timeout=timeout, check=False)

    def start(self, *args: str) -> str:
        """`docker run --detach` on the network; returns the container's name (its host name there)."""
        name = self._name()
        docker(self.client, "run", "--detach", "--name", name, "--network", self.prefix, *args)
        return name

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Any other docker command (exec, restart ...)."""
        return docker(self.client, *args, check=check)

    def close(self) -> None:
        """Remove the containers (with their anonymous volumes) and the network."""
        if self.names:
            self.docker("rm", "--force", "--volumes", *self.names, check=False)
        self.docker("network", "rm", self.prefix, check=False)


@pytest.fixture
def sandbox(docker_engine):
    """A Sandbox on the engine, whose stand-ins the docker_engine fixture has built."""
    box = Sandbox(docker_engine)
    yield box
    box.close()


# ---- apache/airflow ---------------------------------------------------------------------------------------

def test_airflow_python_is_recent_and_has_its_runtime_libraries(sandbox):
    code = ("import bz2, ctypes, curses, lzma, readline, sqlite3, ssl, sys, tarfile, uuid, zlib;"
            "tarfile.data_filter; print(sys.version)")
    result = sandbox.run(AIRFLOW, "python", "-c", code)
    assert result.returncode == 0, result.stderr
    assert version(result.stdout) >= (3, 11, 4)
    names = sandbox.run(AIRFLOW, "bash", "-c", "python3 --version && pip --version")
    assert names.returncode == 0, names.stderr
    assert version(names.stdout) >= (3, 11, 4)


def test_airflow_runs_as_airflow_uid_50000_group_0_in_airflow_home(sandbox):
    result = sandbox.run(AIRFLOW, "bash", "-c", 'id -u; id -g; echo "$HOME"; pwd; stat -c %U:%g:%A "$AIRFLOW_HOME"')
    assert result.stdout.split() == ["50000", "0", "/home/airflow", "/opt/airflow", "airflow:0:drwxrwxr-x"]


def test_airflow_image_config_matches_the_official_one(docker_engine):
    cfg = config(docker_engine, AIRFLOW)
    env = dict(item.split("=", 1) for item in cfg["Env"])
    assert cfg["Entrypoint"] == ["/usr/bin/dumb-init", "--", "/entrypoint"]
    assert not cfg["Cmd"]
    assert cfg["User"] == "airflow"
    assert cfg["WorkingDir"] == "/opt/airflow"
    assert env["AIRFLOW_HOME"] == "/opt/airflow"
    assert env["PIP_USER"] == "true"
    assert env["DUMB_INIT_SETSID"] == "1"
    assert "/home/airflow/.local/bin" in env["PATH"].split(":")


@pytest.mark.parametrize(("command", "expected"), [
    (["scheduler"], "airflow-args: scheduler"),
    (["celery", "worker", "--skip-serve-logs"], "airflow-args: celery worker --skip-serve-logs"),
    (["airflow", "version"], "airflow-args: version"),
    # As in the official entrypoint, only `bash` and `python` are programs; `python3` is an airflow subcommand.
    (["python3", "-V"], "airflow-args: python3 -V"),
    (["bash", "-c", "echo ran bash"], "ran bash"),
    (["python", "-c", "print('ran python')"], "ran python"),
])
def test_airflow_entrypoint_routes_the_command(sandbox, tmp_path, command, expected):
    # A stand-in `airflow` on the image's PATH shows what the entrypoint executed (Airflow is not installed).
    fake = tmp_path / "airflow"
    fake.write_text('#!/bin/sh\necho "airflow-args: $*"\n')
    fake.chmod(0o755)
    result = sandbox.run("--volume", f"{fake}:/home/airflow/.local/bin/airflow:ro", AIRFLOW, *command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_airflow_pip_installs_into_the_user_site_when_building(sandbox, tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir(mode=0o755)
    wheel = probe_wheel(wheels)
    # --entrypoint bash: like a Dockerfile RUN step, which does not go through the entrypoint.
    script = (f"pip install --quiet --no-index --no-deps /wheels/{wheel.name}"
              " && python -c 'import probe; print(probe.__file__)'")
    result = sandbox.run("--volume", f"{wheels}:/wheels:ro", "--entrypoint", "bash", AIRFLOW, "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/home/airflow/.local/lib/python3.11/site-packages/probe.py"
    # A running container (through the entrypoint) does not inherit PIP_USER, as in the official image.
    assert sandbox.run(AIRFLOW, "bash", "-c", 'echo "${PIP_USER-unset}"').stdout.strip() == "unset"


def probe_wheel(folder: Path) -> Path:
    """A minimal pure-Python wheel (module `probe`) to see where pip installs it."""
    info = "probe-1.0.dist-info"
    files = {
        "probe.py": "",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: probe\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
    path = folder / "probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    path.chmod(0o644)
    return path


def test_airflow_needs_group_0_and_gives_an_unknown_uid_the_airflow_home(sandbox):
    refused = sandbox.run("--user", "12345:12345", AIRFLOW, "bash", "-c", "true")
    assert refused.returncode == 1
    assert "group 0" in refused.stderr
    arbitrary = sandbox.run("--user", "12345:0", AIRFLOW, "bash", "-c", 'echo "$HOME"')
    assert arbitrary.stdout.strip() == "/home/airflow"


# ---- postgres ---------------------------------------------------------------------------------------------

def test_postgres_accepts_the_password_over_the_network_and_refuses_a_wrong_one(sandbox):
    env = ["--env", "POSTGRES_USER=airflow", "--env", "POSTGRES_PASSWORD=standin-secret",
           "--env", "POSTGRES_DB=airflow"]
    server = sandbox.start(*env, POSTGRES, "postgres", "-p", "5432")
    ready = ["exec", server, "pg_isready", "-p", "5432", "-U", "airflow", "-d", "airflow"]  # our healthcheck
    wait_for(lambda: sandbox.docker(*ready, check=False).returncode == 0)
    query = ["psql", "-h", server, "-U", "airflow", "-d", "airflow", "-Atc",
             "select current_user, pg_encoding_to_char(encoding) from pg_database where datname = current_database()"]
    good = sandbox.run("--env", "PGPASSWORD=standin-secret", POSTGRES, *query)
    assert good.stdout.strip() == "airflow|UTF8", good.stderr
    bad = sandbox.run("--env", "PGPASSWORD=wrong", POSTGRES, *query)
    assert bad.returncode != 0
    assert "password authentication failed" in bad.stderr
    # The server (PID 1, no init) runs as postgres (uid 999) and owns a private PGDATA; a restart reuses it.
    owner = sandbox.docker("exec", server, "bash", "-c", 'grep ^Uid: /proc/1/status; stat -c %U:%a "$PGDATA"').stdout
    assert owner.split()[1:] == ["999", "999", "999", "999", "postgres:700"]
    sandbox.docker("restart", server)
    wait_for(lambda: sandbox.docker(*ready, check=False).returncode == 0)
    assert sandbox.run("--env", "PGPASSWORD=standin-secret", POSTGRES, *query).stdout.strip() == "airflow|UTF8"


def test_postgres_refuses_to_initialize_without_a_password(sandbox):
    result = sandbox.run("--env", "POSTGRES_USER=airflow", POSTGRES, "postgres", "-p", "5432")
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_postgres_image_config_matches_the_official_one(docker_engine):
    cfg = config(docker_engine, POSTGRES)
    env = dict(item.split("=", 1) for item in cfg["Env"])
    assert cfg["StopSignal"] == "SIGINT"
    assert env["PGDATA"] == "/var/lib/postgresql/data"
    assert "/usr/lib/postgresql/15/bin" in env["PATH"].split(":")
    assert "/var/lib/postgresql/data" in cfg["Volumes"]


# ---- redis ------------------------------------------------------------------------------------------------

def test_redis_answers_ping_from_another_container(sandbox):
    server = sandbox.start(REDIS, "redis-server", "--port", "6379")
    wait_for(lambda: sandbox.docker("exec", server, "redis-cli", "ping", check=False).stdout.strip() == "PONG")
    assert sandbox.run(REDIS, "redis-cli", "-h", server, "-p", "6379", "ping").stdout.strip() == "PONG"
    uid = sandbox.docker("exec", server, "grep", "^Uid:", "/proc/1/status").stdout.split()[1]
    assert uid == "999"  # the entrypoint dropped root for the redis user


def test_redis_keeps_protected_mode_when_the_command_line_sets_it(sandbox):
    server = sandbox.start(REDIS, "redis-server", "--protected-mode", "yes")
    wait_for(lambda: sandbox.docker("exec", server, "redis-cli", "ping", check=False).stdout.strip() == "PONG")
    assert "DENIED" in sandbox.run(REDIS, "redis-cli", "-h", server, "ping").stdout


# ---- haproxy ----------------------------------------------------------------------------------------------

def test_haproxy_runs_as_uid_99(sandbox):
    assert version(sandbox.run(HAPROXY, "-v").stdout)[:2] == (2, 6)  # options alone mean haproxy
    assert sandbox.run(HAPROXY, "id", "-u").stdout.strip() == "99"
    cfg = config(sandbox.client, HAPROXY)
    assert (cfg["User"], cfg["StopSignal"]) == ("haproxy", "SIGUSR1")
    assert cfg["Cmd"] == ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]


def test_haproxy_passes_our_compose_healthcheck_on_our_config(sandbox):
    # docker-compose.yaml's haproxy service: no entrypoint, working_dir /opt/project, ./haproxy mounted read-only.
    result = sandbox.run("--entrypoint", "", "--workdir", "/opt/project", "--env", "FLOWER_PASSWORD=standin",
                         "--volume", f"{REPO / 'haproxy'}:/opt/project/haproxy:ro",
                         HAPROXY, "haproxy", "-c", "-q", "-f", "haproxy/haproxy.cfg")
    assert result.returncode == 0, result.stderr


# ---- node -------------------------------------------------------------------------------------------------

def test_node_and_npm_run_as_uid_1000(sandbox):
    result = sandbox.run("--user", "node", NODE, "bash", "-c", "id -u; id -g; node --version; npm --version")
    assert result.returncode == 0, result.stderr
    uid, gid, node, npm = result.stdout.split()
    assert (uid, gid) == ("1000", "1000")
    assert version(node) >= (20, 18, 0)  # smee-client 5 needs ^20.18 or >= 22
    assert version(npm) >= (10, 0, 0)
    assert sandbox.run(NODE, "-e", "console.log(6 * 7)").stdout.strip() == "42"  # options alone mean node


# ---- the builder ------------------------------------------------------------------------------------------

def test_a_second_run_builds_nothing(docker_engine):
    lines: list[str] = []
    ensure_images(docker_engine, echo=lines.append)
    assert lines == [f"{tag}: cached" for tag in [BASE, *STANDINS]]


def test_a_failing_build_reports_the_failing_step_only(docker_engine, tmp_path):
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo standin-probe-output && false\n")
    with pytest.raises(StandinError) as raised:
        build_image(docker_engine, "gitops-test/failing:probe", tmp_path / "Dockerfile", tmp_path, "no-hash")
    message = str(raised.value)
    assert "RUN echo standin-probe-output && false" in message
    assert "standin-probe-output\n" in message
    assert "exit code: 1" in message
    assert "load build definition" not in message and "#1 " not in message


def test_a_missing_docker_client_is_one_clear_line(tmp_path):
    with pytest.raises(StandinError) as raised:
        ensure_images(docker=str(tmp_path / "docker"))
    assert str(raised.value) == f"docker client not found at {tmp_path / 'docker'}"


def test_an_old_host_python_is_refused(tmp_path):
    fake = tmp_path / "python3.11"
    fake.write_text('#!/bin/sh\necho \'["/usr", "3.11.2 (main)", [3, 11, 2]]\'\n')
    fake.chmod(0o755)
    with pytest.raises(StandinError, match=r"is 3\.11\.2 at /usr: the Airflow stand-in needs >= 3\.11\.4"):
        host_python(str(fake))
