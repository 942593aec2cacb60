"""The verdict: the run fails whenever a check failed, and alerts only about what no task reported yet."""

from __future__ import annotations

import pytest
from weather_checker import verdict
from weather_checker.steps import missing


def result(name: str, status: str) -> dict:
    return {"check": {"name": name, "status": status, "detail": "x"}}


def test_outcome_marks_failures_of_failed_tasks_as_reported():
    record = {"failed": ["forecast", "redis"], "checks": [{}] * 12}
    stack = {"checks": [{"name": "redis", "status": "fail", "detail": "down"}]}
    outcome = verdict.outcome(record, [result("forecast", "fail"), result("camera", "pass"), stack])
    assert outcome == {"failed": ["forecast", "redis"], "reported": ["forecast"], "total": 12}


def test_a_task_that_left_no_result_counts_as_reported():
    stack = {"checks": [missing("stack checks", "check_stack")]}
    outcome = verdict.outcome({"failed": ["stack checks"], "checks": [{}]}, [stack])
    assert outcome["reported"] == ["stack checks"]


def test_all_passed():
    assert verdict.decide({"failed": [], "reported": [], "total": 12}) == "all 12 checks passed"


@pytest.mark.parametrize(("outcome", "already_reported"), [
    ({"failed": ["forecast"], "reported": ["forecast"]}, True),
    ({"failed": ["forecast", "redis"], "reported": ["forecast"]}, False),
    ({"failed": ["secret"], "reported": []}, False),
    (None, True),
])
def test_failures_fail_the_run_and_say_whether_to_alert(outcome, already_reported):
    with pytest.raises(verdict.ChecksFailed) as caught:
        verdict.decide(outcome)
    assert caught.value.already_reported is already_reported


def test_the_callback_stays_quiet_only_for_reported_failures(monkeypatch):
    sent = []
    monkeypatch.setattr(verdict, "task_fail_slack_alert", sent.append)
    verdict.alert_unless_reported({"exception": verdict.ChecksFailed("x", already_reported=True)})
    assert sent == []
    news = {"exception": verdict.ChecksFailed("failed checks: redis", already_reported=False)}
    verdict.alert_unless_reported(news)
    verdict.alert_unless_reported({"reason": "killed"})  # no exception: the task died, tell someone
    assert sent == [news, {"reason": "killed"}]
