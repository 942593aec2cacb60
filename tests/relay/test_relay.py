"""The smee relay: pinned smee-client, shellcheck-clean runner, forwards signed requests to the webhook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from stacktest.fake_smee import FakeSmee
from tests.webhook.conftest import KEY, signed
from webhook import create_app

RELAY = Path(__file__).resolve().parents[2] / "relay"
PROJECT = RELAY.parent
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def smee_client_installed():
    """node_modules from the committed lock file (npm ci), as the stack's setup does."""
    if not (RELAY / "node_modules" / "smee-client").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(RELAY)], check=True,
                       capture_output=True, timeout=300)
    return RELAY


@pytest.fixture
def served_webhook(tmp_path):
    app = create_app({"state_dir": tmp_path / "state", "repo_url": str(tmp_path / "origin.git"),
                      "webhook_key": KEY, "start_runner": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(5)


@pytest.fixture
def smee():
    with FakeSmee() as server:
        yield server


def test_run_script_is_shellcheck_clean():
    assert shutil.which("shellcheck"), "shellcheck is a Debian package the stack installs"
    result = subprocess.run(["shellcheck", str(RELAY / "run")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert "set -o errexit -o nounset -o pipefail" in (RELAY / "run").read_text()


def test_smee_client_is_pinned_with_integrity():
    package = json.loads((RELAY / "package.json").read_text())
    assert package["dependencies"] == {"smee-client": "5.0.0"}
    lock = json.loads((RELAY / "package-lock.json").read_text())
    entry = lock["packages"]["node_modules/smee-client"]
    assert entry["version"] == "5.0.0" and entry["integrity"].startswith("sha512-")


def test_relay_forwards_a_signed_request_and_hides_the_channel(smee_client_installed, served_webhook, smee):
    url, app = served_webhook
    env = {**os.environ, "SMEE_URL": smee.channel, "RELAY_TARGET": f"{url}/webhook"}
    proc = subprocess.Popen([str(RELAY / "run")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert smee.connected.wait(20), "the relay never connected to the channel"
        time.sleep(0.3)
        # What the GitHub Action sends to smee.io.
        request = urllib.request.Request(smee.channel, data=json.dumps({"commit": COMMIT}).encode(),
                                         headers={**signed(COMMIT), "Content-Type": "application/json"})
        assert urllib.request.urlopen(request, timeout=5).status == 200
        deadline = time.monotonic() + 15
        status = {}
        while time.monotonic() < deadline:
            status = app.test_client().get("/?format=json").json
            if status["deploys"]:
                break
            time.sleep(0.1)
        assert [d["commit"] for d in status["deploys"]] == [COMMIT]
        assert status["relay"]["via_relay"] is True and status["relay"]["outcome"] == "accepted"
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0]
    assert "secret-channel-id" not in output
    assert "event=relay_connected" in output


def test_relay_refuses_to_start_without_a_target_url(smee_client_installed):
    env = {**os.environ, "SMEE_URL": "not a url", "RELAY_TARGET": "http://127.0.0.1:1/webhook"}
    result = subprocess.run([str(RELAY / "run")], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "SMEE_URL must be an http(s) URL" in result.stderr


def test_smee_address_comes_from_1password(connect_env):
    env = {k: v for k, v in os.environ.items() if k != "SMEE_URL"}
    result = subprocess.run([sys.executable, "-m", "webhook.smee_address"], env=env, cwd=PROJECT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://smee.io/development-example-channel"


def test_smee_address_without_1password_names_what_is_missing(monkeypatch):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OP_")}
    result = subprocess.run([sys.executable, "-m", "webhook.smee_address"], env=env, cwd=PROJECT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "OP_INFRA_TOKEN" in result.stderr
