"""Slack alerts for DAGs: task and DAG callbacks, in the same format as every other message (slackmessage).

The messages go through the Airflow connection "slack" (see slackmessage), read by Airflow (AIRFLOW_CONN_SLACK,
the secrets backend's 1Password item, or the API server's connections), and the provider's notifiers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagutils import team
from slackmessage import Line, Link, format_message
from slackmessage.in_airflow import send_slack_message

__all__ = ["Link", "context_lines", "format_message", "send_slack_message", "task_fail_slack_alert",
           "task_fail_slack_alert_critical", "task_success_slack_alert"]

log = logging.getLogger(__name__)


def _team_zone() -> ZoneInfo:
    name = team.timezone_name()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("TEAM_TIMEZONE=%r is not a known time zone; showing times in UTC", name)
        return ZoneInfo("UTC")


def _when(context: Mapping[str, Any]) -> tuple[str, str | None]:
    """The run's logical date (or run-after time for runs without one) in the team's time zone."""
    label, moment = "Logical date", context.get("logical_date")
    if moment is None:
        label, moment = "Run after", getattr(context.get("dag_run"), "run_after", None)
    if moment is None:
        return label, None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return label, moment.astimezone(_team_zone()).strftime("%Y-%m-%d %H:%M:%S %Z")


def _first_line(error: object) -> str | None:
    if error is None:
        return None
    if not isinstance(error, BaseException):
        return str(error).strip().splitlines()[0][:300] if str(error).strip() else None
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}"[:300] if message else type(error).__name__


def _run_url(dag_id: str, run_id: str) -> str:
    from airflow.sdk import conf

    base = conf.get("api", "base_url", fallback="http://localhost:8080/")
    return f"{base.rstrip('/')}/dags/{dag_id}/runs/{quote(run_id)}"


def context_lines(context: Mapping[str, Any]) -> list[Line]:
    """DAG, task, run and try, logical date, error and links, from a task or DAG callback context."""
    ti, dag = context.get("ti"), context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", "?")
    run_id = context.get("run_id") or getattr(ti, "run_id", "?")
    dag_level = "reason" in context
    try_number = getattr(ti, "try_number", None)
    run = f"{run_id} (try {try_number})" if try_number and not dag_level else run_id
    task = getattr(ti, "task_id", None)
    return [
        ("DAG", dag_id),
        ("Last task" if dag_level else "Task", task),
        ("Run", run),
        _when(context),
        ("Reason", context.get("reason")),
        ("Error", _first_line(context.get("exception"))),
        ("Log", Link(ti.log_url, "View log") if ti is not None else None),
        ("Run page", Link(_run_url(dag_id, run_id), "Open run") if dag_level else None),
    ]


def _alert(context: Mapping[str, Any], level: str) -> None:
    subject = "DAG run" if "reason" in context else "Task"
    title = {
        "failure": f"{subject} failed",
        "critical": f"Critical failure: {subject.lower()} failed",
        "success": f"{subject} succeeded",
    }[level]
    try:
        lines = context_lines(context)
    except Exception as exc:  # a strange context still deserves an alert
        log.warning("Slack alert: could not read the callback context: %s", exc)
        lines = [("DAG", getattr(context.get("dag"), "dag_id", "?")), ("Run", context.get("run_id"))]
    send_slack_message(title, lines, level)


def task_fail_slack_alert(context: Mapping[str, Any]) -> None:
    """on_failure_callback (task or DAG level): post the failure to Slack."""
    _alert(context, "failure")


def task_fail_slack_alert_critical(context: Mapping[str, Any]) -> None:
    """on_failure_callback for jobs someone must look at now: the message mentions <!channel>."""
    _alert(context, "critical")


def task_success_slack_alert(context: Mapping[str, Any]) -> None:
    """on_success_callback (task or DAG level): post the success to Slack."""
    _alert(context, "success")
