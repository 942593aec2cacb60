"""The real diagnostics server (`python -m diagnostics`) behind HAProxy: quiet on health checks, 4xx on junk."""

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.haproxy.proxy import REPO, stop_process


@pytest.fixture
def diagnostics_stack(fresh_stack, tmp_path):
    """fresh_stack with its diagnostics stub replaced by the real server, logging to a file."""
    stub = fresh_stack.backends["diagnostics"]
    port = stub.port
    stub.stop()
    log = tmp_path / "diagnostics.log"
    env = {**os.environ, "DIAGNOSTICS_DIR": str(tmp_path / "page"), "DIAGNOSTICS_PORT": str(port),
           "BIND_HOST": "127.0.0.1", "PYTHONPATH": str(REPO)}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "diagnostics"], env=env, cwd=tmp_path, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    fresh_stack.wait_until(lambda: fresh_stack.server_states().get("diagnostics") == "UP", timeout=10,
                           what="the real diagnostics server to be UP")
    yield fresh_stack, log
    stop_process(process)


def raw_request(stack, request: bytes) -> bytes:
    """Send bytes as they are to the public diagnostics port (http.client refuses control characters)."""
    with socket.create_connection(("127.0.0.1", stack.ports["diagnostics"]), timeout=10) as conn:
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


def test_health_check_resets_leave_no_traceback(diagnostics_stack):
    stack, log = diagnostics_stack
    time.sleep(3)  # a few health checks (one a second), each ended by HAProxy with a reset
    assert stack.request("diagnostics", "/").status == 200
    text = log.read_text()
    assert "Traceback" not in text and "ConnectionResetError" not in text, text[-2000:]


@pytest.mark.parametrize("request_line", [b"GET /%00 HTTP/1.1", b"GET /%00.json HTTP/1.1",
                                          b"GET /images/a%00.jpg HTTP/1.1", b"GET /\x00 HTTP/1.1"])
def test_nul_in_the_path_is_a_client_error(diagnostics_stack, request_line):
    stack, log = diagnostics_stack
    reply = raw_request(stack, request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    status = int(reply.split(b" ", 2)[1])
    assert status in (400, 404), reply[:200]
    assert "Traceback" not in log.read_text()
