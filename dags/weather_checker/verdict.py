"""Airflow glue: hand a step's result to the page through XCom, fail the task, and judge the whole run."""

from __future__ import annotations

import logging

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException
from dagutils.notifications import task_fail_slack_alert

from weather_checker.results import FAIL
from weather_checker.settings import SettingsError, WeatherSettings, from_env

log = logging.getLogger(__name__)
RESULT_KEY = "result"


class TransientStepError(RuntimeError):
    """A step failed in a way a retry may fix (NWS 5xx, a timeout); Airflow retries the task."""


class ChecksFailed(AirflowFailException):
    """The run's checks did not all pass; `already_reported` when the failing tasks have alerted already."""

    def __init__(self, message: str, *, already_reported: bool) -> None:
        super().__init__(message)
        self.already_reported = already_reported


def load_settings() -> WeatherSettings:
    """Settings for this task; a bad setting fails the task without retries, naming the variable."""
    try:
        return from_env()
    except SettingsError as error:
        raise AirflowFailException(str(error)) from None


def report(result: dict) -> None:
    """Push the result (never a secret) for the page task, then fail this task if its check failed."""
    get_current_context()["ti"].xcom_push(key=RESULT_KEY, value=result)
    outcome = result["check"]
    if outcome["status"] == FAIL:
        if outcome.get("transient"):
            raise TransientStepError(outcome["detail"])
        raise AirflowFailException(outcome["detail"])


def pull(task_id: str) -> dict | None:
    """A producer's result, or None when that task ended without reporting one."""
    return get_current_context()["ti"].xcom_pull(task_ids=task_id, key=RESULT_KEY)


def outcome(record: dict, results: list[dict]) -> dict:
    """What the verdict needs (no secret): failed checks, and which a failed task already alerted about."""
    reported = []
    for result in results:
        if "check" in result:  # forecast and camera: a failed check means that task failed and alerted
            found = [result["check"]] if result["check"]["status"] == FAIL else []
        else:
            found = [c for c in result.get("checks", []) if c.get("task_failed")]
        reported += [c["name"] for c in found]
    return {"failed": record["failed"], "reported": reported, "total": len(record["checks"])}


def decide(outcome: dict | None) -> str:
    """Fail the run if any check failed; say whether someone still needs to be told."""
    if outcome is None:
        raise ChecksFailed("the page task reported no outcome; see its log", already_reported=True)
    failed, reported = outcome.get("failed", []), set(outcome.get("reported", []))
    if not failed:
        return f"all {outcome.get('total', '?')} checks passed"
    news = [name for name in failed if name not in reported]
    raise ChecksFailed(f"failed checks: {', '.join(failed)}", already_reported=not news)


def alert_unless_reported(context) -> None:
    """The verdict's failure callback: alert once per problem, not again for a task that already alerted."""
    if getattr(context.get("exception"), "already_reported", False):
        log.info("not alerting: the tasks whose checks failed have already sent their own alerts")
        return
    task_fail_slack_alert(context)
