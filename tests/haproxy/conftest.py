"""Run the real haproxy/haproxy.cfg on free loopback ports in front of tiny local HTTP backends."""

import base64
import datetime
import http.client
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "haproxy" / "haproxy.cfg"
USERNAME = "ops"
PASSWORD = "correct horse battery staple"
STATS_PASSWORD = "read-only stats password"
HOSTNAMES = {
    "AIRFLOW_HOSTNAME": "airflow.example.test",
    "WEBHOOK_HOSTNAME": "webhook.example.test",
    "FLOWER_HOSTNAME": "flower.example.test",
    "DIAGNOSTICS_HOSTNAME": "diagnostics.example.test",
}
PUBLIC_PORTS = ("airflow", "webhook", "flower", "diagnostics", "stats", "https")
WORKER_PORTS = ("worker_api", "worker_postgres", "worker_redis")
# AuthenticationOk: what HAProxy's pgsql-check wants to hear.
POSTGRES_AUTH_OK = b"R\x00\x00\x00\x08\x00\x00\x00\x00"
BACKENDS = ("airflow", "webhook", "flower", "diagnostics")


def haproxy_binary():
    """Path of the haproxy executable (the Debian package), or a clear failure."""
    path = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
    if path is None:
        pytest.fail("haproxy is not installed: apt-get install haproxy (Debian 12 ships 2.6)")
    return path


def free_ports(count):
    """Distinct free TCP ports on 127.0.0.1 (held open together so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Seen:
    """One request as a backend received it."""

    method: str
    path: str
    headers: dict
    body: bytes


class QuietServer(ThreadingHTTPServer):
    """HAProxy ends its health checks with a TCP reset; that is not an error worth printing."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class Backend:
    """A threaded HTTP server that answers every request with its own name and records what it saw."""

    def __init__(self, name, port=0):
        self.name = name
        self.seen = []
        self._server = QuietServer(("127.0.0.1", port), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _handler(self):
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                backend.seen.append(Seen(self.command, self.path, headers, body))
                payload = backend.name.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, format, *args):  # noqa: A002 - the base class's signature
                pass

        return Handler

    def client_requests(self):
        """Requests sent by the tests (they carry X-Test-Client), not HAProxy's own health checks."""
        return [seen for seen in self.seen if seen.headers.get("x-test-client")]

    def stop(self):
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class TcpFake:
    """A TCP server answering every chunk with one fixed reply: a stand-in for Redis or PostgreSQL."""

    def __init__(self, reply):
        self.received = []
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                while data := self.request.recv(4096):
                    fake.received.append(data)
                    self.request.sendall(reply)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self):
        return self.body.decode(errors="replace")


@dataclass
class Stack:
    """A running HAProxy, its public ports, its backends and the environment it was given."""

    ports: dict
    backends: dict
    env: dict
    log: Path
    process: subprocess.Popen = field(repr=False)
    tls_context: ssl.SSLContext | None = field(default=None, repr=False)

    def request(self, port_name, path="/", *, method="GET", host=None, auth=None, source="127.0.0.1",
                headers=None, body=None, tls_context=None):
        """Send one request to a public port exactly as written (no path normalisation)."""
        port = self.ports[port_name]
        if tls_context is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
        else:
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, source_address=(source, 0),
                                               context=tls_context)
        all_headers = {"X-Test-Client": "1", **(headers or {})}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            all_headers["Authorization"] = f"Basic {token}"
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
            for name, value in all_headers.items():
                conn.putheader(name, value)
            if body is not None and "Transfer-Encoding" not in all_headers:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body is not None and "Transfer-Encoding" not in all_headers else None)
            if body is not None and "Transfer-Encoding" in all_headers:
                conn.send(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
            reply = conn.getresponse()
            return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
        finally:
            conn.close()

    @property
    def auth(self):
        """The operator credentials this HAProxy was given."""
        return (self.env["FLOWER_USERNAME"], self.env["FLOWER_PASSWORD"])

    def server_states(self):
        """Backend server status from the stats page's CSV export, e.g. {'flower': 'UP'}."""
        reply = self.request("stats", "/;csv", auth=self.auth)
        states = {}
        for line in reply.text.splitlines():
            cells = line.split(",")
            if len(cells) > 17 and not line.startswith("#") and cells[1] not in ("FRONTEND", "BACKEND"):
                states[cells[0]] = cells[17]
        return states

    def wait_until(self, predicate, timeout=10.0, what="condition"):
        """Poll predicate() until it is true; fail with the HAProxy log if it never is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return time.monotonic()
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}; haproxy log:\n{self.log.read_text()[-3000:]}")


def native_env(ports, backends, extra=None):
    """The environment the native runner gives HAProxy: every variable explicit, all on 127.0.0.1."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "HAPROXY_BIND": "127.0.0.1",
        "PUBLIC_AIRFLOW_PORT": str(ports["airflow"]),
        "PUBLIC_WEBHOOK_PORT": str(ports["webhook"]),
        "PUBLIC_FLOWER_PORT": str(ports["flower"]),
        "PUBLIC_DIAGNOSTICS_PORT": str(ports["diagnostics"]),
        "PUBLIC_STATS_PORT": str(ports["stats"]),
        "PUBLIC_HTTPS_PORT": str(ports["https"]),
        "AIRFLOW_API_HOST": "127.0.0.1",
        "AIRFLOW_API_PORT": str(backends["airflow"]),
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(backends["webhook"]),
        "FLOWER_HOST": "127.0.0.1",
        "FLOWER_PORT": str(backends["flower"]),
        "DIAGNOSTICS_HOST": "127.0.0.1",
        "DIAGNOSTICS_PORT": str(backends["diagnostics"]),
        "FLOWER_USERNAME": USERNAME,
        "FLOWER_PASSWORD": PASSWORD,
        "HAPROXY_STATS_PASSWORD": STATS_PASSWORD,
    }
    env.update(extra or {})
    return env


def start_stack(tmp_dir, extra_env=None, workers=False, wait_healthy=True):
    """Start the backends and HAProxy; return a Stack once every backend server is UP.

    workers=True also opens the remote-worker listeners for 127.0.0.7, in front of fake Redis and
    PostgreSQL servers.
    """
    backends = {name: Backend(name) for name in BACKENDS}
    backend_ports = {name: backend.port for name, backend in backends.items()}
    expected = {"airflow_api", "webhook", "flower", "diagnostics"}
    public_ports = PUBLIC_PORTS + (WORKER_PORTS if workers else ())
    if workers:
        backends["postgres"] = TcpFake(POSTGRES_AUTH_OK)
        backends["redis"] = TcpFake(b"-NOAUTH Authentication required.\r\n")  # Redis with a password
        expected |= {"execution_api", "postgres", "redis"}
    for attempt in range(3):
        ports = dict(zip(public_ports, free_ports(len(public_ports)), strict=True))
        env = native_env(ports, backend_ports, extra_env)
        if workers:
            env.update({"WORKER_ALLOWED_SOURCES": "127.0.0.7 192.0.2.0/24",
                        "PUBLIC_WORKER_API_PORT": str(ports["worker_api"]),
                        "PUBLIC_WORKER_POSTGRES_PORT": str(ports["worker_postgres"]),
                        "PUBLIC_WORKER_REDIS_PORT": str(ports["worker_redis"]),
                        "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(backends["postgres"].port),
                        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(backends["redis"].port)})
        Path(tmp_dir).mkdir(parents=True, exist_ok=True)
        log = Path(tmp_dir) / f"haproxy-{attempt}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([haproxy_binary(), "-W", "-db", "-f", str(CONFIG)], cwd=REPO, env=env,
                                       stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        stack = Stack(ports, backends, env, log, process)
        if _wait_listening(stack):
            break
        stop_process(process)
    else:
        for backend in backends.values():
            backend.stop()
        pytest.fail(f"haproxy did not start; log:\n{log.read_text()[-3000:]}")
    every_server_up = dict.fromkeys(expected, "UP")
    if wait_healthy:
        stack.wait_until(lambda: stack.server_states() == every_server_up,
                         what="every backend server to be UP")
    return stack


def _wait_listening(stack, timeout=10.0):
    """True once the stats port accepts connections, False if HAProxy exited (e.g. a port was taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", stack.ports["stats"]), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_process(process):
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass


def stop_stack(stack):
    stop_process(stack.process)
    for backend in stack.backends.values():
        backend.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """HAProxy with the production host names configured, no TLS."""
    running = start_stack(tmp_path_factory.mktemp("haproxy"), HOSTNAMES)
    yield running
    stop_stack(running)


@pytest.fixture
def fresh_stack(tmp_path):
    """A private HAProxy for tests that disturb it (stop backends, fill rate tables)."""
    running = start_stack(tmp_path, HOSTNAMES)
    yield running
    stop_stack(running)


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
        stop_stack(running)


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


def write_self_signed_pem(path, names):
    """A self-signed certificate for `names` plus its key, in one PEM file as HAProxy wants it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key_pem)
    return path


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
    stop_stack(running)


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
    stop_stack(running)
