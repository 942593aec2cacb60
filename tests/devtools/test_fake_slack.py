"""The fake Slack accepts what slack_sdk sends, answers like Slack, and lists what it received."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient


def test_incoming_webhook_posts_are_recorded_and_listed(fake_slack):
    response = WebhookClient(f"{fake_slack.url}/services/T0/B0/X").send(text="hello *world*")
    assert (response.status_code, response.body) == (200, "ok")
    [message] = httpx.get(fake_slack.url + "/messages").json()
    assert message["kind"] == "webhook"
    assert (message["path"], message["text"]) == ("/services/T0/B0/X", "hello *world*")


def test_delete_messages_empties_the_list(fake_slack):
    WebhookClient(f"{fake_slack.url}/services/T0/B0/X").send(text="one")
    assert httpx.delete(fake_slack.url + "/messages").json() == {"deleted": 1}
    assert httpx.get(fake_slack.url + "/messages").json() == []


def test_webhook_without_text_is_refused_like_slack(fake_slack):
    response = WebhookClient(f"{fake_slack.url}/services/T0/B0/X").send_dict({"unfurl_links": False})
    assert (response.status_code, response.body) == (400, "no_text")
    assert fake_slack.snapshot() == []


def test_chat_post_message_records_the_channel(fake_slack):
    web = WebClient(token="xoxb-test", base_url=fake_slack.url + "/api/")
    result = web.chat_postMessage(channel="#alerts", text="deploy done")
    assert result["ok"] is True
    [message] = fake_slack.snapshot()
    assert (message["kind"], message["channel"], message["text"]) == ("api", "#alerts", "deploy done")


@pytest.mark.parametrize(("token", "channel", "error"), [
    (None, "#alerts", "not_authed"),
    ("xoxb-test", "", "channel_not_found"),
])
def test_api_errors_come_back_as_ok_false(fake_slack, token, channel, error):
    web = WebClient(token=token, base_url=fake_slack.url + "/api/")
    with pytest.raises(SlackApiError) as raised:
        web.chat_postMessage(channel=channel, text="x")
    assert raised.value.response["error"] == error
    assert fake_slack.snapshot() == []


def test_injected_fault_is_answered_once_and_counted(fake_slack):
    fake_slack.fail_next(503, "busy")
    hook = WebhookClient(f"{fake_slack.url}/services/T0/B0/X", retry_handlers=[])
    assert hook.send(text="first").status_code == 503
    assert hook.send(text="second").status_code == 200
    assert fake_slack.posts == 2
    assert [m["text"] for m in fake_slack.snapshot()] == ["second"]


def test_command_line_serves_on_the_given_port():
    process = subprocess.Popen([sys.executable, "-m", "devtools.fake_slack", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split(" on ")[1].split(";")[0]
        WebhookClient(f"{url}/services/T0/B0/X").send(text="from the command line")
        assert [m["text"] for m in httpx.get(url + "/messages").json()] == ["from the command line"]
    finally:
        process.terminate()
        process.communicate(timeout=10)
