"""The diagnostics server: the page with a live age, run images cached, nothing else exposed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from diagnostics import age
from diagnostics.settings import SettingsError, from_env
from stacktest.net import free_port

PROJECT = Path(__file__).resolve().parents[2]


def page_finished(finished: datetime) -> str:
    """A real page from the DAG's renderer, finished at `finished`."""
    from weather_checker import page

    record = {"run_id": "manual__1", "environment": "development", "finished_at": finished.isoformat(),
              "local_time": "then", "timezone": "America/Chicago", "forecast": None, "camera": None,
              "checks": [], "failed": []}
    return page.render(record, [], None)


def test_placeholder_before_the_first_run(diagnostics_server):
    response = requests.get(diagnostics_server.url + "/", timeout=5)
    assert response.status_code == 200
    assert "No weather-checker run has published a page yet" in response.text
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"


def test_page_age_is_rendered_by_the_server(diagnostics_server):
    folder = diagnostics_server.folder
    (folder / "index.html").write_text(page_finished(datetime.now(UTC) - timedelta(minutes=3)))
    body = requests.get(diagnostics_server.url + "/", timeout=5).text
    assert '<span id="age" class="age fresh"' in body and ">ran 3 min ago</span>" in body

    (folder / "index.html").write_text(page_finished(datetime.now(UTC) - timedelta(minutes=25)))
    body = requests.get(diagnostics_server.url + "/index.html", timeout=5).text
    assert '<span id="age" class="age stale"' in body
    assert ">ran 25 min ago (stale: older than 10 min)</span>" in body


def test_files_are_served_with_cache_and_security_headers(diagnostics_server):
    folder = diagnostics_server.folder
    (folder / "images").mkdir()
    (folder / "images" / "run-1.jpg").write_bytes(b"\xff\xd8jpeg")
    (folder / "latest.json").write_text("{}")
    (folder / "age.js").write_text("//")
    image = requests.get(diagnostics_server.url + "/images/run-1.jpg", timeout=5)
    assert image.status_code == 200 and image.content == b"\xff\xd8jpeg"
    assert image.headers["Cache-Control"] == "public, max-age=86400, immutable"
    record = requests.get(diagnostics_server.url + "/latest.json", timeout=5)
    assert record.headers["Content-Type"] == "application/json"
    assert record.headers["Cache-Control"] == "no-cache"
    assert record.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in record.headers["Content-Security-Policy"]
    assert requests.get(diagnostics_server.url + "/age.js", timeout=5).headers["Content-Type"].startswith(
        "text/javascript")


def test_unchanged_files_answer_304(diagnostics_server):
    (diagnostics_server.folder / "latest.json").write_text("{}")
    first = requests.get(diagnostics_server.url + "/latest.json", timeout=5)
    again = requests.get(diagnostics_server.url + "/latest.json", timeout=5,
                         headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/images/", "/images", "/.lock", "/images/.run.jpg.tmp", "/../etc/passwd",
                                  "/%2e%2e/%2e%2e/etc/passwd", "/missing.json"])
def test_no_listing_no_hidden_files_no_escape(diagnostics_server, path):
    folder = diagnostics_server.folder
    (folder / "images").mkdir()
    (folder / "images" / ".run.jpg.tmp").write_bytes(b"partial")
    (folder / ".lock").write_text("")
    response = requests.get(diagnostics_server.url + path, timeout=5, allow_redirects=True)
    assert response.status_code == 404
    assert "root:" not in response.text and "partial" not in response.text


def test_head_and_unsupported_methods(diagnostics_server):
    head = requests.head(diagnostics_server.url + "/", timeout=5)
    assert head.status_code == 200 and head.text == ""
    assert requests.post(diagnostics_server.url + "/", timeout=5).status_code == 501


def test_age_rewrite_leaves_pages_without_an_age_alone():
    assert age.rewrite("<p>hello</p>") == "<p>hello</p>"
    assert 'class="age stale">ran at an unreadable time' in age.rewrite(
        '<span id="age" data-finished="yesterday">x</span>')


@pytest.mark.parametrize(("env", "message"), [
    ({"DIAGNOSTICS_PORT": "http"}, "DIAGNOSTICS_PORT must be a port number"),
    ({"DIAGNOSTICS_PORT": "0"}, "DIAGNOSTICS_PORT must be a port number"),
])
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        from_env(env)


def test_settings_defaults_and_state_folder():
    assert from_env({}).folder == Path(".state/diagnostics")
    assert from_env({"STACK_STATE_DIR": "/srv/s"}).folder == Path("/srv/s/diagnostics")
    assert from_env({"BIND_HOST": "0.0.0.0", "DIAGNOSTICS_PORT": "8000"}).host == "0.0.0.0"


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 10) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, headers={"User-Agent": "test"}, timeout=1)
        except requests.ConnectionError:
            assert proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, f"no answer from {url}"
            time.sleep(0.05)


def test_python_m_diagnostics_serves_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "DIAGNOSTICS_DIR": str(tmp_path / "d"), "DIAGNOSTICS_PORT": str(port),
           "BIND_HOST": "127.0.0.1", "PYTHONPATH": str(PROJECT)}
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file, subprocess.Popen(
            [sys.executable, "-m", "diagnostics"], env=env, cwd=tmp_path, stdout=log_file,
            stderr=subprocess.STDOUT) as proc:
        try:
            assert "No weather-checker run" in wait_for(f"http://127.0.0.1:{port}/", proc).text
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    log = log_path.read_text()
    assert f"on http://127.0.0.1:{port}" in log and "request method=GET path=/ status=200" in log
    assert "stopped" in log


def test_a_bad_setting_exits_with_a_sentence(tmp_path):
    env = {**os.environ, "DIAGNOSTICS_PORT": "eighty", "PYTHONPATH": str(PROJECT)}
    result = subprocess.run([sys.executable, "-m", "diagnostics"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert "DIAGNOSTICS_PORT must be a port number between 1 and 65535, got 'eighty'" in result.stderr


def test_a_request_cannot_write_its_own_log_lines(diagnostics_server, caplog):
    caplog.set_level("INFO", logger="diagnostics")
    forged = "/x%0a2026-01-01 diagnostics request method=GET path=/admin status=200"
    assert requests.get(diagnostics_server.url + forged, timeout=5).status_code == 404
    assert requests.get(diagnostics_server.url + "/%00", timeout=5).status_code == 400
    lines = [record.getMessage() for record in caplog.records]
    assert lines and not any("\n" in line or "\x00" in line for line in lines)
    assert any("path=/x\\n2026-01-01" in line for line in lines)
