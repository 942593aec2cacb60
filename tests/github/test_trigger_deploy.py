"""scripts/trigger_deploy.py, the Action's step: signs, posts, follows the deploy, fails when it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stacktest.gitrepo import BROKEN_DAG, good_dag
from tests.webhook.conftest import KEY

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "trigger_deploy.py"


def run(env: dict, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """Run the script as the Action does: secrets in the environment, nothing else installed."""
    base = {"PATH": os.environ["PATH"], "GITHUB_RUN_ID": "4242"}
    return subprocess.run([sys.executable, "-I", str(SCRIPT), "--timeout", "60", *args], env={**base, **env},
                          capture_output=True, text=True, timeout=timeout)


def test_direct_post_deploys_and_succeeds(webhook, origin, tmp_path):
    commit = origin.commit({"dags/new.py": good_dag("new")}, "Add new (#9)")
    summary = tmp_path / "summary.md"
    result = run({"WEBHOOK_KEY": KEY, "WEBHOOK_ADDRESS": f"{webhook}/webhook", "DEPLOY_COMMIT": commit,
                  "DEPLOY_PR": "9", "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 0, result.stderr
    assert f"deployed {commit[:12]}" in result.stdout
    assert "succeeded" in summary.read_text()
    assert KEY not in result.stdout + result.stderr


def test_through_the_relay_the_deploy_is_followed_by_delivery_id(webhook, relay, origin):
    commit = origin.commit({"dags/relayed.py": good_dag("relayed")})
    result = run({"WEBHOOK_KEY": KEY, "WEBHOOK_ADDRESS": relay.channel, "WEBHOOK_STATUS_URL": webhook,
                  "DEPLOY_COMMIT": commit})
    assert result.returncode == 0, result.stderr
    assert relay.forwarded == 1
    # The relay URL is a secret: never printed in full.
    assert "channel-secret-part" not in result.stdout + result.stderr
    # A reader of the channel sees a value good for this one request, never the key.
    [event] = relay.seen
    assert KEY not in str(event)
    assert event.headers["x-webhook-key"].startswith("v2,")


def test_a_lost_relay_event_still_converges_through_the_poll(webhook, relay, origin):
    relay.drop = True
    commit = origin.commit({"dags/lost.py": good_dag("lost")})
    result = run({"WEBHOOK_KEY": KEY, "WEBHOOK_ADDRESS": relay.channel, "WEBHOOK_STATUS_URL": webhook,
                  "DEPLOY_COMMIT": commit})
    assert result.returncode == 0, result.stderr
    assert relay.forwarded == 0


def test_a_rejected_deploy_fails_the_job_with_the_reason(webhook, origin):
    commit = origin.commit({"dags/broken.py": BROKEN_DAG}, "broken")
    result = run({"WEBHOOK_KEY": KEY, "WEBHOOK_ADDRESS": f"{webhook}/webhook", "DEPLOY_COMMIT": commit})
    assert result.returncode == 1
    assert "::error::deploy" in result.stderr and "rejected" in result.stderr
    assert "module_that_does_not_exist" in result.stderr


def test_a_refused_request_fails_at_once(webhook, origin):
    result = run({"WEBHOOK_KEY": "not-the-key-0123456789", "WEBHOOK_ADDRESS": f"{webhook}/webhook",
                  "DEPLOY_COMMIT": origin.head()})
    assert result.returncode == 1
    assert "HTTP 403" in result.stderr
    assert "attempt 2" not in result.stderr  # a 4xx is not retried


def test_an_unreachable_webhook_fails_after_retries(origin):
    result = run({"WEBHOOK_KEY": KEY, "WEBHOOK_ADDRESS": "http://127.0.0.1:9/webhook",
                  "DEPLOY_COMMIT": origin.head()}, "--retry-delay", "0.05")
    assert result.returncode == 1
    assert "could not reach" in result.stderr
    assert "attempt 3" in result.stderr


@pytest.mark.parametrize(("env", "named"), [
    ({}, "WEBHOOK_KEY"),
    ({"WEBHOOK_KEY": KEY}, "WEBHOOK_ADDRESS"),
    ({"WEBHOOK_KEY": KEY, "WEBHOOK_ADDRESS": "http://x/webhook", "DEPLOY_COMMIT": "main"}, "DEPLOY_COMMIT"),
    ({"WEBHOOK_KEY": KEY, "WEBHOOK_ADDRESS": "http://x/webhook", "DEPLOY_COMMIT": "a" * 40,
      "DEPLOY_PR": "#3"}, "DEPLOY_PR"),
])
def test_bad_configuration_is_named(env, named):
    result = run(env)
    assert result.returncode == 2
    assert named in result.stderr


def test_a_signed_status_read_answered_503_is_tried_again_before_the_public_fields():
    """A brief 503 (the key's source unavailable) must not cost the job log the DAG's own message."""
    import http.server
    import importlib.util
    import json
    import threading

    answers = [(503, {"error": "authentication unavailable"}),
               (200, {"state": "rejected", "reason": "1 DAG problem(s)", "detail": "No module named 'x'"})]
    signed = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.headers.get("X-Webhook-Key"):
                status, body = answers[min(len(signed), 1)]
                signed.append(status)
            else:
                status, body = 200, {"state": "rejected", "reason": "1 DAG problem(s)"}
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = importlib.util.spec_from_file_location("trigger_deploy", SCRIPT)
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        reader = script.StatusReader(f"http://127.0.0.1:{server.server_address[1]}/status", KEY)
        record = reader.record("20261129T000000-abcdef")
    finally:
        server.shutdown()
        server.server_close()
    assert signed == [503, 200]
    assert record["detail"] == "No module named 'x'"
