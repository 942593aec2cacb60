"""Sending inside Airflow (task and DAG callbacks, tasks, deadline callbacks): the provider's notifiers.

The connection comes from Airflow (in a task: the API server's connections too), and redaction is Airflow's
secrets masker, which holds every secret the task has read. The message format is slackmessage's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import slackmessage
from slackmessage import DEFAULT_CHANNEL, SLACK_CONN_ID, TIMEOUT, Line


class InAirflow:
    """The transport of send_slack_message below."""

    @staticmethod
    def redact(text: str) -> str:
        """Replace any value registered with Airflow's secrets masker, as task logs do."""
        from airflow.sdk._shared.secrets_masker import redact  # the import path Airflow 3.3 itself recommends

        return redact(text)

    @staticmethod
    def sender(conn_id: str):
        """The provider notifier's notify() for the connection's type, or None if it does not exist."""
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            conn = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            return None
        # Our retry loop replaces slack_sdk's, which logs the full webhook URL (a secret) when it retries.
        common = {"timeout": TIMEOUT, "retry_handlers": []}
        if conn.conn_type == "slack":
            from airflow.providers.slack.notifications.slack import SlackNotifier

            channel = conn.extra_dejson.get("channel") or DEFAULT_CHANNEL
            make = functools.partial(SlackNotifier, slack_conn_id=conn_id, channel=channel, **common)
        else:
            from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

            make = functools.partial(SlackWebhookNotifier, slack_webhook_conn_id=conn_id, **common)

        @functools.cache  # one notifier (and hook) for every attempt of one text
        def notifier(text: str):
            return make(text=text)

        def send(text: str) -> None:
            # notify(), not __call__(): the text is final and must not be rendered as a Jinja template.
            notifier(text).notify({})

        return send


def send_slack_message(title: str, lines: Iterable[Line] = (), level: str = "info", *,
                       conn_id: str = SLACK_CONN_ID, attempts: int = 3) -> bool:
    """slackmessage.send_slack_message through Airflow's connection, notifier and masker."""
    return slackmessage.deliver(InAirflow, title, lines, level, conn_id=conn_id, attempts=attempts)
