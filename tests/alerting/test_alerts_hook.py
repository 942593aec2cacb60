"""dashboard/alerts.py: Alertmanager's webhook payload in, one Slack message per group out (a local fake Slack)."""

from __future__ import annotations

import copy
import html
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from dashboard import alerts
from stacktest.airflow_home import slack_connection

# The shape Alertmanager 0.25 posts (captured from the real one in test_alerts_fire.py's rig).
PAYLOAD = {
    "receiver": "slack-through-dashboard",
    "status": "firing",
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "QueueGrowing", "instance": "127.0.0.1:9121", "job": "redis", "key": "default",
                   "severity": "warning"},
        "annotations": {"summary": "A Celery queue has been growing for 10 minutes.",
                        "description": "Queue default holds 42 waiting task(s) and keeps growing.",
                        "action": "Workers are missing or full; check Flower and the worker slots on the dashboard."},
        "startsAt": "2026-11-29T16:50:07.123Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/prometheus/graph?g0.expr=deriv%28collectd_redis_queue_length%5B5m%5D%29",
        "fingerprint": "5b2ea6d5e8a9b5c1",
    }],
    "groupLabels": {"alertname": "QueueGrowing"},
    "commonLabels": {"alertname": "QueueGrowing", "instance": "127.0.0.1:9121", "job": "redis", "key": "default",
                     "severity": "warning"},
    "commonAnnotations": {"summary": "A Celery queue has been growing for 10 minutes.",
                          "description": "Queue default holds 42 waiting task(s) and keeps growing.",
                          "action": "Workers are missing or full; check Flower and the worker slots on the dashboard."},
    "externalURL": "http://alertmanager:9093/alertmanager",
    "version": "4",
    "groupKey": "{}:{alertname=\"QueueGrowing\"}",
    "truncatedAlerts": 0,
}


@pytest.fixture
def slack(fake_slack, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", slack_connection(fake_slack.url))
    return fake_slack


@pytest.fixture
def client():
    app = Flask(__name__)
    app.register_blueprint(alerts.blueprint)
    return app.test_client()


def test_one_group_is_one_message_saying_what_and_what_to_do(client, slack):
    answer = client.post("/hooks/alertmanager", json=PAYLOAD)
    assert answer.status_code == 200
    [posted] = slack.snapshot()
    text = posted["text"]
    assert text.startswith(":warning: *Alert: QueueGrowing*")
    assert "A Celery queue has been growing for 10 minutes." in text
    assert "*Since 2026-11-29 16:50 UTC:* Queue default holds 42 waiting task(s)" in text
    assert "check Flower" in text


def test_critical_alerts_mention_the_channel(client, slack):
    payload = copy.deepcopy(PAYLOAD)
    payload["commonLabels"]["severity"] = "critical"
    client.post("/hooks/alertmanager", json=payload)
    assert slack.snapshot()[0]["text"].startswith("<!channel> :red_circle: *Alert: QueueGrowing*")


def test_a_group_of_many_lists_each_alert_by_what_sets_it_apart(client, slack):
    payload = copy.deepcopy(PAYLOAD)
    payload["alerts"] = [{**PAYLOAD["alerts"][0], "labels": {**PAYLOAD["commonLabels"], "key": f"queue{n}"},
                          "annotations": {}} for n in range(12)]
    payload["commonLabels"].pop("key")
    payload["commonAnnotations"].pop("description")
    client.post("/hooks/alertmanager", json=payload)
    [posted] = slack.snapshot()
    assert "key=queue0" in posted["text"] and "key=queue9" in posted["text"]
    assert "key=queue10" not in posted["text"] and "2 more in Alertmanager" in posted["text"]


@pytest.mark.parametrize(("body", "sentence"), [
    ("not json", "not a JSON object"),
    ([1, 2], "not a JSON object"),
    ({**PAYLOAD, "version": "3"}, "payload version '3'"),
    ({**PAYLOAD, "alerts": []}, "'alerts' must be a non-empty list"),
    ({**PAYLOAD, "alerts": ["x"]}, "'alerts' must be a non-empty list"),
    ({**PAYLOAD, "commonLabels": ["x"]}, "'commonLabels' must be an object"),
])
def test_a_body_that_is_not_an_alertmanager_payload_is_refused_with_a_sentence(client, slack, body, sentence):
    data = body if isinstance(body, str) else json.dumps(body)
    answer = client.post("/hooks/alertmanager", data=data, content_type="application/json")
    assert answer.status_code == 400
    assert sentence in html.unescape(answer.get_data(as_text=True))
    assert slack.snapshot() == []


def test_a_request_that_came_through_haproxy_is_not_served(client, slack):
    answer = client.post("/hooks/alertmanager", json=PAYLOAD, headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.status_code == 404
    assert slack.snapshot() == []


def test_slack_refusing_it_asks_alertmanager_to_try_again(client, slack):
    slack.fail_next(status=404, body="no_service")  # not transient: slackmessage gives up at once
    answer = client.post("/hooks/alertmanager", json=PAYLOAD)
    assert answer.status_code == 503
    assert slack.snapshot() == []
    assert client.post("/hooks/alertmanager", json=PAYLOAD).status_code == 200
    assert len(slack.snapshot()) == 1


def test_the_hook_does_not_load_airflow(connect_env, fake_slack):
    """As the dashboard runs it: the `slack` connection from 1Password (docker-compose.yaml's secrets backend
    variables), the message sent, and no module of Airflow imported."""
    code = ("import json, sys\n"
            "from flask import Flask\n"
            "from dashboard import alerts\n"
            "app = Flask(__name__)\n"
            "app.register_blueprint(alerts.blueprint)\n"
            "assert app.test_client().post('/hooks/alertmanager', json=json.loads(sys.argv[1])).status_code == 200\n"
            "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'airflow'))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update(AIRFLOW__SECRETS__BACKEND="opconnect.backend.OnePasswordBackend",
               AIRFLOW__SECRETS__BACKEND_KWARGS='{"connections_prefix": "connections"}',
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    result = subprocess.run([sys.executable, "-c", code, json.dumps(PAYLOAD)], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
    [posted] = fake_slack.snapshot()
    assert posted["text"].startswith(":warning: *Alert: QueueGrowing*")
