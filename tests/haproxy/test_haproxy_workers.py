"""WORKER_ALLOWED_SOURCES opens the broker, result backend and execution API to remote worker hosts only."""

import socket

import pytest

ALLOWED = "127.0.0.7"
OTHER = "127.0.0.1"
# A PostgreSQL SSLRequest packet: any first bytes do for the stand-in server.
PG_HELLO = b"\x00\x00\x00\x08\x04\xd2\x16\x2f"


def exchange(stack, port_name, source, data):
    """Send bytes to a worker port from `source`; return what comes back (b"" if HAProxy hung up)."""
    try:
        with socket.create_connection(("127.0.0.1", stack.ports[port_name]), timeout=5,
                                      source_address=(source, 0)) as conn:
            conn.sendall(data)
            return conn.recv(4096)
    except ConnectionResetError:
        # On loopback HAProxy's reset can arrive before connect() even returns.
        return b""


def test_listed_worker_reaches_the_execution_api(worker_stack):
    reply = worker_stack.request("worker_api", "/execution/health", source=ALLOWED)
    assert (reply.status, reply.text) == (200, "airflow")
    assert worker_stack.backends["airflow"].client_requests()[-1].path == "/execution/health"


@pytest.mark.parametrize("path", ["/", "/api/v2/dags", "/auth/token"])
def test_worker_port_serves_nothing_but_the_execution_api(worker_stack, path):
    assert worker_stack.request("worker_api", path, source=ALLOWED).status == 403


def test_other_sources_are_refused_on_every_worker_port(worker_stack):
    with pytest.raises((ConnectionError, OSError)):
        worker_stack.request("worker_api", "/execution/health", source=OTHER)
    assert exchange(worker_stack, "worker_redis", OTHER, b"PING\r\n") == b""
    assert exchange(worker_stack, "worker_postgres", OTHER, PG_HELLO) == b""


def test_listed_worker_reaches_redis_and_postgres(worker_stack):
    assert exchange(worker_stack, "worker_redis", ALLOWED, b"PING\r\n").startswith(b"-NOAUTH")
    assert exchange(worker_stack, "worker_postgres", ALLOWED, PG_HELLO).startswith(b"R")


def test_public_ports_are_unchanged_by_worker_access(worker_stack):
    assert worker_stack.request("airflow", "/execution/health", source=ALLOWED).status == 403
    assert worker_stack.request("flower", "/", source=ALLOWED).status == 401
