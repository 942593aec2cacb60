"""Post one formatted message to Slack: the webhook's deploys, the dashboard's alerts and the DAGs' callbacks.

Messages go through the Airflow connection SLACK_CONN_ID ("slack"): conn_type "slackwebhook" (incoming webhook
URL as password) or "slack" (bot token as password, channel in extra {"channel": "#name"}), from the 1Password
item connections/slack (the secrets backend's) or AIRFLOW_CONN_SLACK. No connection: one warning per process and
nothing is sent. `send_slack_message` does not load Airflow (slackmessage.direct: slack_sdk, our redaction);
inside Airflow, slackmessage.in_airflow.send_slack_message sends the same text through the provider's notifiers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

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
TIMEOUT = 10  # seconds per attempt
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


def _is_transient(error: Exception) -> bool:
    """Network trouble, 429 and 5xx are worth another try; bad URLs, tokens and channels are not."""
    from slack_sdk.errors import SlackApiError

    if isinstance(error, SlackApiError):
        return error.response.status_code == 429 or error.response.status_code >= 500
    if isinstance(getattr(error, "status", None), int):  # slackmessage.direct.SlackWebhookError
        return error.status == 429 or error.status >= 500
    if isinstance(error, OSError):  # URLError, refused connections and socket timeouts
        return True
    # SlackWebhookHook reports a non-200 answer only as text: "..., Status Code: 500. ..."
    return bool(_TRANSIENT_STATUS.search(str(error)))


class Transport(Protocol):
    """How a message leaves: slackmessage.direct.Direct or slackmessage.in_airflow.InAirflow."""

    def redact(self, text: str) -> str: ...

    def sender(self, conn_id: str) -> Callable[[str], object] | None:
        """What sends a text once, or None when the connection is not defined."""


def send_slack_message(title: str, lines: Iterable[Line] = (), level: str = "info", *,
                       conn_id: str = SLACK_CONN_ID, attempts: int = 3) -> bool:
    """Send one formatted message without Airflow; return False (after logging why) instead of raising."""
    from slackmessage.direct import Direct

    return deliver(Direct, title, lines, level, conn_id=conn_id, attempts=attempts)


def deliver(transport: Transport, title: str, lines: Iterable[Line] = (), level: str = "info", *,
            conn_id: str = SLACK_CONN_ID, attempts: int = 3) -> bool:
    """Format, redact and send through `transport`, retrying transient failures; False if not sent."""
    text = format_message(title, lines, level)
    try:
        send = transport.sender(conn_id)  # first: reading the connection registers its secrets
    except Exception as exc:  # a broken lookup must not turn an alert into a second failure
        log.error("Slack message %r not sent: reading connection %r failed: %s", title, conn_id,
                  transport.redact(str(exc)))
        return False
    if send is None:
        if conn_id not in _warned_missing:
            _warned_missing.add(conn_id)
            log.warning("Slack connection %r is not defined (AIRFLOW_CONN_%s or 1Password item "
                        "connections/%s); Slack messages are not sent", conn_id, conn_id.upper(), conn_id)
        return False
    text = transport.redact(text)
    for attempt in range(1, attempts + 1):
        try:
            send(text)
            return True
        except Exception as exc:
            problem = f"{type(exc).__name__}: {transport.redact(str(exc))[:200]}"
            if attempt == attempts or not _is_transient(exc):
                log.error("Slack message %r not sent after %d attempt(s): %s", title, attempt, problem)
                return False
            log.warning("Slack message %r failed (%s); retrying", title, problem)
            time.sleep(RETRY_BACKOFF * 2 ** (attempt - 1))
    return False
