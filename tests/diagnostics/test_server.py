"""`python -m diagnostics` as the stack runs it: settings checked first, then the app under waitress."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from diagnostics.settings import Settings
from stacksettings import PROJECT_DIR, SettingsError


@pytest.mark.parametrize(("env", "message"), [
    ({"DIAGNOSTICS_PORT": "http"}, "DIAGNOSTICS_PORT must be a whole number, got 'http'"),
    ({"DIAGNOSTICS_PORT": "0"}, "DIAGNOSTICS_PORT must be at least 1, got '0'"),
    ({"DIAGNOSTICS_PORT": "65536"}, "DIAGNOSTICS_PORT must be at most 65535, got '65536'"),
])
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_the_folder_must_be_a_folder(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(SettingsError, match=f"DIAGNOSTICS_DIR must be a folder, but {tmp_path}/file is a file"):
        Settings.from_env({"DIAGNOSTICS_DIR": str(tmp_path / "file")})


def test_settings_defaults_and_state_folder():
    assert Settings.from_env({}).folder == PROJECT_DIR / ".state" / "diagnostics"
    assert Settings.from_env({"STACK_STATE_DIR": "/srv/s"}).folder == Path("/srv/s/diagnostics")
    assert Settings.from_env({"STACK_STATE_DIR": "/srv/s", "DIAGNOSTICS_DIR": "/d"}).folder == Path("/d")
    assert (Settings.from_env({}).host, Settings.from_env({}).port) == ("127.0.0.1", 8000)
    assert Settings.from_env({"BIND_HOST": "0.0.0.0", "DIAGNOSTICS_PORT": "8001"}).port == 8001


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 20) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, headers={"User-Agent": "test"}, timeout=1)
        except requests.ConnectionError:
            assert proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, f"no answer from {url}"
            time.sleep(0.05)


def test_python_m_diagnostics_serves_the_page_and_stops_on_sigterm(tmp_path, free_tcp_port):
    port = free_tcp_port
    env = {**os.environ, "DIAGNOSTICS_DIR": str(tmp_path / "d"), "DIAGNOSTICS_PORT": str(port),
           "BIND_HOST": "127.0.0.1", "PYTHONPATH": str(PROJECT_DIR)}
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file, subprocess.Popen(
            [sys.executable, "-m", "diagnostics"], env=env, cwd=tmp_path, stdout=log_file,
            stderr=subprocess.STDOUT) as proc:
        try:
            assert "No weather-checker run" in wait_for(f"http://127.0.0.1:{port}/", proc).text
            with ThreadPoolExecutor(8) as pool:  # several browsers and probes at once
                pages = list(pool.map(lambda _: requests.get(f"http://127.0.0.1:{port}/", timeout=30), range(8)))
            assert [page.status_code for page in pages] == [200] * 8
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    log = log_path.read_text()
    assert f"diagnostics serving folder={tmp_path / 'd'} on http://127.0.0.1:{port}\n" in log, log
    assert "request method=GET path=/ status=200" in log and "stopped" in log, log


def test_a_bad_setting_exits_with_a_sentence(tmp_path):
    env = {**os.environ, "DIAGNOSTICS_PORT": "eighty", "PYTHONPATH": str(PROJECT_DIR)}
    result = subprocess.run([sys.executable, "-m", "diagnostics"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert "diagnostics: DIAGNOSTICS_PORT must be a whole number, got 'eighty'" in result.stderr
