"""POST /hooks/alertmanager: Alertmanager's webhook; one Slack message per alert group, through slackmessage.

Only Alertmanager may call it, on the internal network: HAProxy does not route /hooks/ (haproxy/haproxy.cfg),
and a request that carries X-Forwarded-For (HAProxy adds it to every request it passes on) is refused here too.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, request

import slackmessage

log = logging.getLogger(__name__)
blueprint = Blueprint("alerts", __name__)

# Alertmanager's webhook payload version this module reads (Alertmanager 0.x sends "4").
PAYLOAD_VERSION = "4"
# The rules' severity label -> slackmessage level; critical mentions the channel.
LEVELS = {"critical": "critical", "warning": "warning", "info": "info"}
SHOWN = 10  # alerts listed in one message; the rest are counted


def message(payload: dict) -> tuple[str, list, str]:
    """Title, labelled lines and level for slackmessage.send_slack_message, from one group's payload."""
    alerts = payload["alerts"]
    firing = [a for a in alerts if a.get("status") == "firing"]
    common = payload.get("commonLabels") or {}
    notes = payload.get("commonAnnotations") or {}
    name = (payload.get("groupLabels") or {}).get("alertname") or common.get("alertname") or "alert"
    if payload.get("status") == "resolved":
        title, level = f"Resolved: {name}", "success"
    else:
        title, level = f"Alert: {name}", LEVELS.get(common.get("severity", ""), "warning")
    lines: list = [("Summary", notes.get("summary")), ("What to do", notes.get("action"))]
    for alert in alerts[:SHOWN]:
        detail = (alert.get("annotations") or {}).get("description") or _labels(alert, common)
        lines.append((_since(alert), detail or name))
    hidden = len(alerts) - SHOWN + int(payload.get("truncatedAlerts") or 0)
    if hidden > 0:
        lines.append(f"{hidden} more in Alertmanager")
    lines.append(("Firing", str(len(firing))) if len(firing) != len(alerts) else None)
    return title, [line for line in lines if line is not None], level


def _labels(alert: dict, common: dict) -> str:
    """The labels that set this alert apart from the others of its group."""
    own = {k: v for k, v in (alert.get("labels") or {}).items() if common.get(k) != v}
    return ", ".join(f"{k}={v}" for k, v in sorted(own.items()))


def _since(alert: dict) -> str:
    """'Since 2026-11-29 16:50 UTC' from Alertmanager's RFC 3339 startsAt."""
    starts = str(alert.get("startsAt") or "")
    return f"Since {starts[:10]} {starts[11:16]} UTC" if len(starts) >= 16 else "Since"


def _problem(payload) -> str | None:
    """A sentence naming what is wrong with the body, or None when it is an Alertmanager webhook payload."""
    if not isinstance(payload, dict):
        return "the body is not a JSON object (Alertmanager's webhook payload)"
    if str(payload.get("version")) != PAYLOAD_VERSION:
        return f"payload version {payload.get('version')!r} is not {PAYLOAD_VERSION!r} (Alertmanager's webhook)"
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts or not all(isinstance(a, dict) for a in alerts):
        return "'alerts' must be a non-empty list of alert objects"
    for key in ("groupLabels", "commonLabels", "commonAnnotations"):
        if not isinstance(payload.get(key) or {}, dict):
            return f"{key!r} must be an object"
    return None


@blueprint.post("/hooks/alertmanager")
def alertmanager():
    if "X-Forwarded-For" in request.headers:  # came through HAProxy: not Alertmanager
        abort(404)
    payload = request.get_json(silent=True)
    problem = _problem(payload)
    if problem:
        abort(400, problem)
    title, lines, level = message(payload)
    if not slackmessage.send_slack_message(title, lines, level):
        # 5xx: Alertmanager tries again later (slackmessage has logged why it was not sent)
        abort(503, "the alert was not posted to Slack; see the dashboard's log")
    log.info("event=alert_posted group=%s alerts=%d status=%s", payload.get("groupKey", ""),
             len(payload["alerts"]), payload.get("status"))
    return {"posted": True}
