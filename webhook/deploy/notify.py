"""Post each deploy's result to Slack (slackmessage, as the DAGs' alerts); log when that is not possible."""

from __future__ import annotations

import logging
import threading

import slackmessage

log = logging.getLogger(__name__)

# Slack level per result; other results (superseded, skipped...) are not worth a message.
LEVELS = {"succeeded": "success", "rolled_back": "warning", "rejected": "warning", "failed": "failure"}
TITLES = {"succeeded": "deployed", "rolled_back": "rolled back automatically", "rejected": "rejected",
          "failed": "failed"}


def message(record: dict) -> tuple[str, list, str]:
    """Title, labelled lines and level for send_slack_message."""
    state = record.get("state", "")
    kind = "Rollback" if record.get("kind") == "rollback" else "Deploy"
    title = f"{kind} {TITLES.get(state, state)}: {(record.get('commit') or '')[:12]}"
    stages = record.get("stages") or {}
    outside = record.get("changed_outside") or []
    lines = [
        ("Deploy", record.get("id")),
        ("Commit", record.get("subject")),
        ("Author", record.get("author")),
        ("Pull request", f"#{record['pr']}" if record.get("pr") else None),
        ("Reason", record.get("reason") or None),
        ("Detail", record.get("detail") or None),
        ("Restart required", ", ".join(outside[:10]) if record.get("restart_required") else None),
        ("Warnings", _warnings(record.get("warnings") or [])),
        ("Stages", ", ".join(f"{k} {v:.2f}s" for k, v in stages.items()) or None),
    ]
    return title, lines, LEVELS.get(state, "info")


def _warnings(warnings: list[str], shown: int = 5) -> str | None:
    """The deploy policy's warnings: the first few, and how many more the status page lists."""
    if not warnings:
        return None
    more = f"; {len(warnings) - shown} more on the status page" if len(warnings) > shown else ""
    return "; ".join(warnings[:shown]) + more


def announce(record: dict, wait: bool = False) -> threading.Thread | None:
    """Send the result in the background (Slack retries must not hold up the next deploy)."""
    if record.get("state") not in LEVELS:
        return None
    thread = threading.Thread(target=_send, args=(dict(record),), name="slack-deploy", daemon=True)
    thread.start()
    if wait:
        thread.join(30)
    return thread


def _send(record: dict) -> bool:
    title, lines, level = message(record)
    try:
        sent = slackmessage.send_slack_message(title, lines, level)
    except Exception as exc:  # Slack trouble must never fail a deploy
        log.warning("event=slack_failed deploy=%s error=%s", record.get("id"), type(exc).__name__)
        return False
    # send_slack_message logs why when it returns False (e.g. no "slack" connection configured).
    log.info("event=slack_%s deploy=%s state=%s", "sent" if sent else "not_sent", record.get("id"),
             record.get("state"))
    return bool(sent)
