"""stackweb.serve as diagnostics and the dashboard use it: a small app in a process of its own, on port 0."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from stacksettings import PROJECT_DIR

# /wait blocks until /release; /waiting says how many are blocked. serve.run's exit status is the process's.
APP = """
import sys, threading
from flask import Flask
from stackweb import serve

app, release, waiting = Flask("t"), threading.Event(), []

@app.get("/")
def page():
    return "page"

@app.get("/wait")
def wait():
    waiting.append(1)
    release.wait(60)
    return "waited"

@app.get("/waiting")
def count():
    return str(len(waiting))

@app.get("/release")
def go():
    release.set()
    return "released"

serve.setup_logging()
sys.exit(serve.run("t", "127.0.0.1", int(sys.argv[1]), app, ready="up"))
"""


@pytest.fixture
def start(tmp_path):
    """Start the app on a port (0: any); yields (process, base URL, log path) once it logged its address."""
    processes = []

    def started(port: int = 0) -> tuple[subprocess.Popen, str, Path]:
        log = tmp_path / f"server{len(processes)}.log"
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-c", APP, str(port)], stdout=out, stderr=subprocess.STDOUT,
                                    env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)})
        processes.append(proc)
        deadline = time.monotonic() + 20
        while not (found := re.search(r" t up on (http://127\.0\.0\.1:\d+)$", log.read_text(), re.M)):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        return proc, found.group(1), log

    yield started
    for proc in processes:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_ready_line_names_the_bound_port_and_sigterm_stops_it_cleanly(start):
    proc, url, log = start()
    assert not url.endswith(":0")
    assert requests.get(url, timeout=10).text == "page"
    assert not Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()  # one process
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert log.read_text().rstrip().endswith(" t stopped"), log.read_text()


def test_several_requests_at_once_are_served(start):
    """Three requests held in the app at once, and a fourth answered meanwhile: the server's 4 threads."""
    proc, url, _ = start()
    with ThreadPoolExecutor(3) as pool:
        held = [pool.submit(requests.get, f"{url}/wait", timeout=60) for _ in range(3)]
        deadline = time.monotonic() + 20
        while requests.get(f"{url}/waiting", timeout=10).text != "3":
            assert time.monotonic() < deadline, "three requests were not in the app at once"
            time.sleep(0.05)
        assert requests.get(url, timeout=10).text == "page"
        requests.get(f"{url}/release", timeout=10)
        assert [future.result().text for future in held] == ["waited"] * 3


def test_a_client_that_stops_sending_does_not_hold_up_others(start):
    proc, url, _ = start()
    with socket.create_connection(("127.0.0.1", int(url.rpartition(":")[2]))) as stalled:
        stalled.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        assert requests.get(url, timeout=10).text == "page"


def test_a_port_in_use_exits_1_with_a_sentence(start, tmp_path):
    _, url, _ = start()
    port = int(url.rpartition(":")[2])
    result = subprocess.run([sys.executable, "-c", APP, str(port)], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)})
    assert result.returncode == 1
    assert f"t cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr, result.stderr
