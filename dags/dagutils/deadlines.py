"""Deadline alerts (Airflow 3's successor of SLA misses) that post to Slack like every other alert.

    from dagutils.deadlines import slack_deadline_alert

    @dag(..., deadline=slack_deadline_alert(timedelta(minutes=3)))   # late: not finished 3 min after it was due

The reference is the run's logical date (when a scheduled run was due), so a run the scheduler queued late is
late too. The scheduler notices a missed deadline and queues the callback; a Celery worker runs
`deadline_missed` from the deployed DAG bundle (a SyncCallback), which posts one message through slackmessage.
A run that ends before its deadline removes it: nothing is sent. A run without a logical date (a manual run
triggered with none) has no deadline.

Under `airflow dags test` the alert is left out: Airflow 3.3.2's dag.test() cannot finish a successful run of a
DAG that has one (it hands the run the alerts' definitions where the scheduler hands their database ids, and
the lookup fails with "'dict' object has no attribute 'hex'"). dags test runs no scheduler, so it would never
fire a deadline anyway; the DAG processor, the scheduler and the deploy's validation always see it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from dagutils.notifications import Link, _run_url, _team_zone, send_slack_message

log = logging.getLogger(__name__)


def under_dags_test(argv: list[str] | None = None) -> bool:
    """Whether this process is `airflow dags test` (see the module's docstring)."""
    args = sys.argv[1:] if argv is None else argv
    return args[:2] == ["dags", "test"]


def slack_deadline_alert(interval: timedelta):
    """A DeadlineAlert: Slack hears of each run not finished `interval` after its logical date (None under
    `airflow dags test`)."""
    if under_dags_test():
        return None
    from airflow.sdk import DeadlineAlert, DeadlineReference, SyncCallback

    return DeadlineAlert(reference=DeadlineReference.DAGRUN_LOGICAL_DATE, interval=interval,
                         callback=SyncCallback(deadline_missed, kwargs={"allowed": _minutes(interval)}))


def _minutes(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    return f"{seconds // 60} min" + (f" {seconds % 60} s" if seconds % 60 else "")


def _shown(moment: object) -> str | None:
    """An ISO string or datetime in the team's time zone; None stays None."""
    if moment is None:
        return None
    when = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(_team_zone()).strftime("%Y-%m-%d %H:%M:%S %Z")


def deadline_missed(context: Mapping[str, Any] | None = None, allowed: str | None = None) -> None:
    """The SyncCallback: one Slack warning naming the DAG, the run, when it was due and its deadline."""
    context = context or {}
    run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    dag_id, run_id = run.get("dag_id", "?"), run.get("dag_run_id", "?")
    try:
        due, missed = _shown(run.get("logical_date")), _shown(deadline.get("deadline_time"))
    except (TypeError, ValueError) as error:  # a strange context still deserves the alert
        log.warning("deadline alert: unreadable time in the context: %s", error)
        due, missed = str(run.get("logical_date")), str(deadline.get("deadline_time"))
    send_slack_message("DAG run late: deadline missed", [
        ("DAG", dag_id),
        ("Run", run_id),
        ("Due", due),
        ("Deadline", f"{missed} ({allowed} after it was due)" if allowed else missed),
        ("State", run.get("state")),
        ("Run page", Link(_run_url(dag_id, run_id), "Open run")),
    ], "warning")
