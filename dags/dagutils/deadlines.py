"""Deadline alerts (Airflow 3's successor of SLA misses) that post to Slack like every other alert.

    from dagutils.deadlines import slack_deadline_alert

    @dag(dag_id=DAG_ID, ..., deadline=slack_deadline_alert(timedelta(minutes=3), DAG_ID))
    # late: not finished 3 min after it was due

The reference is the run's logical date (when a scheduled run was due), so a run the scheduler queued late is
late too. The scheduler notices a missed deadline and queues the callback; a Celery worker runs
`deadline_missed` from the deployed DAG bundle (a SyncCallback), which posts one message through slackmessage.
A run that ends before its deadline removes it: nothing is sent. A run without a logical date (a manual run
triggered with none) has no deadline.

Under `airflow dags test <this DAG>` the alert is left out: Airflow 3.3.2's dag.test() cannot finish a
successful run of a DAG that has one (it hands the run the alerts' definitions where the scheduler hands their
database ids, and the lookup fails with "'dict' object has no attribute 'hex'"). dags test runs no scheduler, so
it would never fire a deadline anyway; the DAG processor, the scheduler and the deploy's validation always see
it. Only the DAG under test loses it: `airflow dags test X` parses every DAG file of the bundle and writes every
DAG it finds to the metadata database, so a DAG that dropped its alert whenever *any* DAG was tested lost its
deadline on a running stack until the DAG processor parsed its file again (up to 5 min), and runs created
meanwhile had no deadline at all (why the canary's late-run alert never came after `dags test orders_upsert`
in the fresh-clone CI). `airflow dags test canary` on a running stack still leaves the canary without its
deadline until that next parse.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from dagutils.notifications import Link, _run_url, _team_zone, send_slack_message

log = logging.getLogger(__name__)


def under_dags_test(dag_id: str, argv: list[str] | None = None) -> bool:
    """Whether this process is `airflow dags test <dag_id>` (see the module's docstring). The DAG under test is
    the one Airflow's parsing context names (the CLI sets it while it parses the bundle), else the command's
    first argument."""
    args = sys.argv[1:] if argv is None else argv
    if args[:2] != ["dags", "test"]:
        return False
    from airflow.sdk import get_parsing_context

    tested = get_parsing_context().dag_id or (args[2] if len(args) > 2 else None)
    return tested == dag_id


def slack_deadline_alert(interval: timedelta, dag_id: str):
    """A DeadlineAlert for DAG `dag_id`: Slack hears of each run not finished `interval` after its logical date
    (None under `airflow dags test <dag_id>`)."""
    if under_dags_test(dag_id):
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
