"""Fixtures: the real haproxy/haproxy.cfg on free loopback ports (tests/haproxy/proxy.py) in front of recording
backends (backends.py), with host names, TLS (certs.py) or the remote-worker listeners on."""

import ssl
import subprocess

import pytest

from tests.haproxy.backends import Backend
from tests.haproxy.certs import write_self_signed_pem
from tests.haproxy.proxy import (
    BACKENDS,
    CONFIG,
    HOSTNAMES,
    PASSWORD,
    PUBLIC_PORTS,
    REPO,
    USERNAME,
    haproxy_binary,
    native_env,
    start_stack,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """HAProxy with the production host names configured, no TLS."""
    running = start_stack(tmp_path_factory.mktemp("haproxy"), HOSTNAMES)
    yield running
    running.stop()


@pytest.fixture
def fresh_stack(tmp_path):
    """A private HAProxy for tests that disturb it (stop backends, fill rate tables)."""
    running = start_stack(tmp_path, HOSTNAMES)
    yield running
    running.stop()


@pytest.fixture
def operator_auth():
    return (USERNAME, PASSWORD)


@pytest.fixture
def stack_factory(tmp_path):
    """Start a private HAProxy with extra settings: stack_factory({"FLOWER_PASSWORD": ...}, wait_healthy=)."""
    started = []

    def start(extra_env, wait_healthy=True):
        started.append(start_stack(tmp_path / str(len(started)), {**HOSTNAMES, **extra_env},
                                   wait_healthy=wait_healthy))
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def backend_factory():
    """Start another recording backend: backend_factory(name, port)."""
    started = []

    def start(name, port=0):
        started.append(Backend(name, port))
        return started[-1]

    yield start
    for backend in started:
        backend.stop()


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory):
    """HAProxy with host names and a certificate: the https port is on."""
    folder = tmp_path_factory.mktemp("haproxy-tls")
    pem = write_self_signed_pem(folder / "site.pem", sorted(HOSTNAMES.values()))
    running = start_stack(folder, {**HOSTNAMES, "TLS_CERT_PATH": str(pem)})
    running.tls_context = ssl.create_default_context(cafile=str(pem))
    # The tests connect to 127.0.0.1; the chain is still verified against our certificate.
    running.tls_context.check_hostname = False
    yield running
    running.stop()


@pytest.fixture
def haproxy_check():
    """Run `haproxy -c -f haproxy/haproxy.cfg` from the repository root with exactly the given environment."""

    def check(env):
        return subprocess.run([haproxy_binary(), "-c", "-f", "haproxy/haproxy.cfg"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=30)

    return check


@pytest.fixture
def native_check_env():
    """A native-style environment with made-up ports (nothing needs to listen for `haproxy -c`)."""
    ports = dict(zip(PUBLIC_PORTS, range(18080, 18086), strict=True))
    return native_env(ports, {name: 19000 + index for index, name in enumerate(BACKENDS)})


@pytest.fixture
def self_signed_pem(tmp_path):
    return write_self_signed_pem(tmp_path / "site.pem", sorted(HOSTNAMES.values()))


@pytest.fixture
def config_text():
    return CONFIG.read_text()


@pytest.fixture(scope="module")
def worker_stack(tmp_path_factory):
    """HAProxy with the remote-worker listeners open to 127.0.0.7 only."""
    running = start_stack(tmp_path_factory.mktemp("haproxy-workers"), workers=True)
    yield running
    running.stop()
