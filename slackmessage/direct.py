"""Sending without Airflow: slack_sdk's clients, given what the provider's hooks would give them.

For processes that do not load Airflow (the webhook's deploys, the dashboard's alerts): the connection comes from
slackmessage.connection, the URL, token, channel and options are read as SlackWebhookHook and SlackHook read
them, and the request is the one SlackWebhookNotifier or SlackNotifier makes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from opconnect.masking import redact
from slackmessage import DEFAULT_CHANNEL, TIMEOUT
from slackmessage.connection import Connection, find

# slack_sdk logs each request's URL (a webhook's is a secret) when its logger's own level is DEBUG or unset.
_sdk_log = logging.getLogger("slackmessage.slack_sdk")
_sdk_log.setLevel(logging.INFO)
# SlackNotifier's sender name and icon (airflow.providers.slack.notifications.slack.ICON_URL)
USERNAME = "Airflow"
ICON_URL = "https://raw.githubusercontent.com/apache/airflow/main/airflow-core/src/airflow/ui/public/pin_100.png"


class SlackWebhookError(RuntimeError):
    """An incoming webhook answered something else than 200 (worded as SlackWebhookHook's error)."""

    def __init__(self, status: int, body: str):
        super().__init__(f"Response body: {body!r}, Status Code: {status}. "
                         "See: https://api.slack.com/messaging/webhooks#handling_errors")
        self.status = status


def webhook_url(conn: Connection) -> str:
    """As SlackWebhookHook: the password if it is a URL, else host (or https://hooks.slack.com/services) + it."""
    token = (conn.password or "").strip()
    if not token:
        raise ValueError("the Slack webhook connection has no password (webhook URL or token)")
    if "://" in token:
        return token
    base = conn.host
    if not base or "://" not in base:
        base = f"{conn.schema or 'https'}://{conn.host or 'hooks.slack.com/services'}"
    return (base.rstrip("/") + "/" + token.lstrip("/")).rstrip("/")


def _post_webhook(conn: Connection, text: str) -> None:
    from slack_sdk.webhook import WebhookClient

    client = WebhookClient(webhook_url(conn), timeout=TIMEOUT, proxy=conn.option("proxy"), logger=_sdk_log,
                           retry_handlers=[])
    response = client.send(text=text)
    if response.status_code != 200:
        raise SlackWebhookError(response.status_code, response.body)


def _post_api(conn: Connection, text: str) -> None:
    from slack_sdk import WebClient

    if not conn.password:
        raise ValueError("the Slack API connection has no password (bot token)")
    options = {"base_url": conn.option("base_url"), "proxy": conn.option("proxy")}
    client = WebClient(token=conn.password, timeout=TIMEOUT, logger=_sdk_log, retry_handlers=[],
                       **{k: v for k, v in options.items() if v})
    client.api_call("chat.postMessage", json={
        "channel": conn.option("channel") or DEFAULT_CHANNEL, "username": USERNAME, "text": text,
        "icon_url": ICON_URL, "attachments": "[]", "blocks": "[]", "unfurl_links": True, "unfurl_media": True})


class Direct:
    """The transport of slackmessage.send_slack_message: no Airflow, our own redaction."""

    redact = staticmethod(redact)

    @staticmethod
    def sender(conn_id: str) -> Callable[[str], None] | None:
        conn = find(conn_id)
        if conn is None:
            return None
        post = _post_api if conn.conn_type == "slack" else _post_webhook
        return lambda text: post(conn, text)
