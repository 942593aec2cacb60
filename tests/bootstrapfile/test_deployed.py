"""The webhook's post-deploy step never fails a deploy: an absent file is nothing, a bad file is recorded with
its line, an unreachable Airflow is recorded (the REST path itself runs in tests/integration)."""

from __future__ import annotations

from bootstrapfile.deployed import apply_deployed


class Unreachable:
    def _call(self, method, path, **kwargs):
        raise ConnectionError("Airflow API unreachable")


def test_a_commit_without_the_file_applies_nothing():
    assert apply_deployed(lambda path: "", Unreachable(), "d1") == {}


def test_a_bad_file_is_recorded_with_its_line_and_nothing_is_applied():
    outcome = apply_deployed(lambda path: "pools:\n  bad: -1\n", Unreachable(), "d2")
    assert outcome == {"bootstrap": {"refused": "dags/bootstrap.yaml line 2: pool 'bad' has negative slots (-1); "
                                                "use 0 or more"}}


def test_an_unreachable_airflow_is_recorded_not_raised():
    outcome = apply_deployed(lambda path: "pools:\n  p: 1\n", Unreachable(), "d3")
    assert outcome == {"bootstrap": {"problems": ["ConnectionError: Airflow API unreachable"]}}
