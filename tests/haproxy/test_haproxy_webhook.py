"""The real webhook app behind HAProxy's public webhook port: what an outsider can learn from /metrics."""

import json
import threading
import time

import pytest
from werkzeug.serving import make_server

from tests.webhook.conftest import ENV_NAMES, KEY, signed
from webhook import create_app

COMMIT = "0123456789abcdef0123456789abcdef01234567"
# Which check refused a request: the log says it, /metrics must not.
DETAILED_REASONS = ("missing_key", "bad_key_format", "missing_delivery", "bad_delivery_id", "bad_timestamp",
                    "stale_timestamp", "bad_key", "replayed_delivery")


@pytest.fixture
def webhook_stack(fresh_stack, tmp_path, monkeypatch):
    """fresh_stack with its webhook stub replaced by the real app (development key, no runner)."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    stub = fresh_stack.backends["webhook"]
    port = stub.port
    stub.stop()
    app = create_app({"state_dir": tmp_path / "state", "repo_url": str(tmp_path / "origin.git"),
                      "webhook_key": KEY, "start_runner": False})
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fresh_stack.wait_until(lambda: fresh_stack.server_states().get("webhook") == "UP", timeout=10,
                           what="the real webhook to be UP")
    yield fresh_stack
    server.shutdown()
    thread.join(timeout=5)


def post(stack, path, body, headers, source="127.0.0.8"):
    return stack.request("webhook", path, method="POST", body=json.dumps(body).encode(), source=source,
                         headers={"Content-Type": "application/json", **headers}).status


def test_metrics_do_not_say_which_check_refused_a_request(webhook_stack, caplog):
    caplog.set_level("WARNING", logger="webhook.auth")
    rollback = signed("previous", endpoint="rollback")
    statuses = [
        post(webhook_stack, "/webhook", {"commit": COMMIT}, {}),
        post(webhook_stack, "/webhook", {"commit": COMMIT}, {"X-Webhook-Key": KEY}),  # the key itself (v1)
        post(webhook_stack, "/webhook", {"commit": COMMIT}, signed(COMMIT, timestamp=int(time.time()) - 3600)),
        post(webhook_stack, "/webhook", {"commit": COMMIT}, signed(COMMIT, key="not-the-key-0123456789")),
        post(webhook_stack, "/rollback", {"to": "previous"}, rollback),  # authentic; nothing to roll back to
        post(webhook_stack, "/rollback", {"to": "previous"}, rollback),  # the same request again
    ]
    assert statuses == [401, 403, 403, 403, 409, 403]

    reply = webhook_stack.request("webhook", "/metrics")
    assert reply.status == 200
    refusals = [line for line in reply.text.splitlines() if line.startswith("webhook_auth_failures_total")]
    assert sorted(refusals) == ['webhook_auth_failures_total{reason="bad_request"} 2.0',
                                'webhook_auth_failures_total{reason="unauthorized"} 3.0']
    assert not [reason for reason in DETAILED_REASONS if reason in reply.text]
    # the operator still finds each reason in the log
    for reason in ("missing_key", "bad_key_format", "stale_timestamp", "reason=bad_key ", "replayed_delivery"):
        assert reason in caplog.text
