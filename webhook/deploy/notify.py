"""Post each deploy's result to Slack through dagutils.notifications; log when that is not possible."""

from __future__ import annotations

import logging

from webhook.dagpath import import_dagutils

log = logging.getLogger(__name__)

ICONS = {"succeeded": ":white_check_mark:", "rolled_back": ":leftwards_arrow_with_hook:",
         "rejected": ":no_entry:", "failed": ":x:"}
ANNOUNCED = tuple(ICONS)


def message(record: dict) -> str:
    """A short Slack text: result, commit, author, PR, reason and stage timings."""
    state = record.get("state", "?")
    commit = (record.get("commit") or "")[:12]
    parts = [f"{ICONS.get(state, '')} {record.get('kind', 'deploy')} {record.get('id')} {state}: `{commit}`"]
    if record.get("subject"):
        parts.append(f"\"{record['subject']}\"")
    if record.get("author"):
        parts.append(f"by {record['author']}")
    if record.get("pr"):
        parts.append(f"(PR #{record['pr']})")
    text = " ".join(parts)
    if record.get("reason"):
        text += f"\nReason: {record['reason']}"
    if record.get("restart_required"):
        text += f"\nRestart required: {', '.join(record.get('changed_outside', [])[:10])}"
    stages = record.get("stages") or {}
    if stages:
        text += "\nStages: " + ", ".join(f"{k} {v:.2f}s" for k, v in stages.items())
    return text


def announce(record: dict) -> bool:
    """Send the result if it is one people act on; True when Slack accepted it."""
    if record.get("state") not in ANNOUNCED:
        return False
    text = message(record)
    try:
        notifications = import_dagutils("notifications")
        send = notifications.send_deploy_result
    except (ImportError, AttributeError) as exc:
        log.info("event=slack_unavailable deploy=%s reason=%s", record.get("id"), type(exc).__name__)
        return False
    try:
        send(text=text, state=record.get("state"), deploy=record)
    except Exception as exc:  # Slack trouble must never fail or stall a deploy
        log.warning("event=slack_failed deploy=%s error=%s", record.get("id"), type(exc).__name__)
        return False
    log.info("event=slack_sent deploy=%s state=%s", record.get("id"), record.get("state"))
    return True
