"""slackmessage.connection reads a serialised connection as Airflow's Connection does (compared with it here)."""

from __future__ import annotations

import json

import pytest
from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
from airflow.sdk.definitions.connection import Connection as AirflowConnection

from slackmessage.connection import parse
from slackmessage.direct import webhook_url


@pytest.mark.parametrize("value", [
    "slackwebhook://:T0%2FB0%2FX@hooks.slack.com/services",
    "slackwebhook://https://hooks.example.org?__extra__=%7B%22timeout%22%3A+5%7D",
    "slackwebhook://:tok@myhost:99/http?proxy=http%3A%2F%2Fp%3A1",
    "slack-webhook://:a%40b%2Fc@h",
    "slack://:xoxb-1%2F2@?channel=%23data",
    json.dumps({"conn_type": "slackwebhook", "password": "https://hooks.slack.com/services/T/B/X"}),
    json.dumps({"conn_type": "slack", "password": "xoxb-3", "extra": {"channel": "#x", "base_url": "http://h/api/"}}),
    json.dumps({"conn_type": "slackwebhook", "host": "h:1/s", "schema": "http", "password": "T/B/X",
                "extra": json.dumps({"timeout": 3})}),
])
def test_fields_and_webhook_url_as_airflow_reads_them(value):
    ours = parse(value)
    theirs = (AirflowConnection.from_json(value, conn_id="slack") if value.startswith("{")
              else AirflowConnection.from_uri(value, conn_id="slack"))
    assert (ours.conn_type, ours.host or "", ours.schema or "", ours.password, ours.extra) == (
        theirs.conn_type, theirs.host or "", theirs.schema or "", theirs.password, theirs.extra_dejson)
    if ours.password:
        assert webhook_url(ours) == SlackWebhookHook(slack_webhook_conn_id="slack")._build_conn_params(theirs)["url"]
