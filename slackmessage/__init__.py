"""Post one formatted message to Slack through the provider's notifiers: the DAGs' callbacks and the webhook.

Messages go through the Airflow connection SLACK_CONN_ID ("slack"): conn_type "slackwebhook" (incoming webhook
URL as password) or "slack" (bot token as password, channel in extra {"channel": "#name"}), from
AIRFLOW_CONN_SLACK or the secrets backend. No connection: one warning per process and nothing is sent.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

SLACK_CONN_ID = "slack"
DEFAULT_CHANNEL = "#airflow"
LEVELS = {
    "info": ":information_source:",
    "success": ":white_check_mark:",
    "warning": ":warning:",
    "failure": ":red_circle:",
    "critical": ":red_circle:",
}
RETRY_BACKOFF = 1.0  # seconds before the 2nd try; doubles after each failed try
_TRANSIENT_STATUS = re.compile(r"Status Code: (429|5\d\d)\b")
_warned_missing: set[str] = set()


@dataclass(frozen=True)
class Link:
    """A URL shown as a Slack link with this text."""

    url: str
    text: str


Line = tuple[str, "str | Link | None"] | str


def _escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _render(value: str | Link) -> str:
    if isinstance(value, Link):
        return f"<{value.url.replace('|', '%7C').replace('>', '%3E')}|{_escape(value.text)}>"
    return _escape(str(value))


def format_message(title: str, lines: Iterable[Line] = (), level: str = "info") -> str:
    """Build mrkdwn: emoji and bold title, then one "*Label:* value" per line (None values are skipped)."""
    if level not in LEVELS:
        raise ValueError(f"unknown Slack message level {level!r}; use one of {', '.join(LEVELS)}")
    mention = "<!channel> " if level == "critical" else ""
    text = [f"{mention}{LEVELS[level]} *{_escape(title)}*"]
    for line in lines:
        if isinstance(line, str):
            text.append(_escape(line))
        elif line[1] is not None:
            text.append(f"*{_escape(line[0])}:* {_render(line[1])}")
    return "\n".join(text)


def _redact(text: str) -> str:
    """Replace any value registered with Airflow's secrets masker, as task logs do."""
    from airflow.sdk._shared.secrets_masker import redact  # the import path Airflow 3.3 itself recommends

    return redact(text)


def _is_transient(error: Exception) -> bool:
    """Network trouble, 429 and 5xx are worth another try; bad URLs, tokens and channels are not."""
    from slack_sdk.errors import SlackApiError

    if isinstance(error, SlackApiError):
        return error.response.status_code == 429 or error.response.status_code >= 500
    if isinstance(error, OSError):  # URLError, refused connections and socket timeouts
        return True
    # SlackWebhookHook reports a non-200 answer only as text: "..., Status Code: 500. ..."
    return bool(_TRANSIENT_STATUS.search(str(error)))


def _notifier(conn_id: str, text: str):
    """Pick the provider notifier that matches the connection's type, or None if it does not exist."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        if conn_id not in _warned_missing:
            _warned_missing.add(conn_id)
            log.warning("Slack connection %r is not defined (AIRFLOW_CONN_%s or 1Password item "
                        "connections/%s); Slack messages are not sent", conn_id, conn_id.upper(), conn_id)
        return None
    # Our retry loop replaces slack_sdk's, which logs the full webhook URL (a secret) when it retries.
    common = {"text": text, "timeout": 10, "retry_handlers": []}
    if conn.conn_type == "slack":
        from airflow.providers.slack.notifications.slack import SlackNotifier

        channel = conn.extra_dejson.get("channel") or DEFAULT_CHANNEL
        return SlackNotifier(slack_conn_id=conn_id, channel=channel, **common)
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    return SlackWebhookNotifier(slack_webhook_conn_id=conn_id, **common)


def send_slack_message(title: str, lines: Iterable[Line] = (), level: str = "info", *,
                       conn_id: str = SLACK_CONN_ID, attempts: int = 3) -> bool:
    """Send one formatted message; return False (after logging why) instead of raising if it was not sent."""
    text = _redact(format_message(title, lines, level))
    try:
        notifier = _notifier(conn_id, text)
    except Exception as exc:  # a broken lookup must not turn an alert into a second failure
        log.error("Slack message %r not sent: reading connection %r failed: %s", title, conn_id, exc)
        return False
    if notifier is None:
        return False
    for attempt in range(1, attempts + 1):
        try:
            # notify(), not __call__(): the text is final and must not be rendered as a Jinja template.
            notifier.notify({})
            return True
        except Exception as exc:
            problem = f"{type(exc).__name__}: {_redact(str(exc))[:200]}"
            if attempt == attempts or not _is_transient(exc):
                log.error("Slack message %r not sent after %d attempt(s): %s", title, attempt, problem)
                return False
            log.warning("Slack message %r failed (%s); retrying", title, problem)
            time.sleep(RETRY_BACKOFF * 2 ** (attempt - 1))
    return False
