"""After publishing, Airflow is asked to reparse and must report the new commit; otherwise roll back."""

from __future__ import annotations

from stacktest.gitrepo import good_dag
from tests.webhook.conftest import signed
from webhook.deploy.airflow_api import AirflowClient, AirflowError


def deploy(client, runner, commit: str) -> dict:
    response = client.post("/webhook", json={"commit": commit}, headers=signed(commit))
    assert response.status_code == 202
    runner.run_pending()
    return client.get(response.json["status_url"]).json


def test_new_dag_is_visible_at_the_new_commit(airflow_app, airflow_runner, airflow, origin):
    client = airflow_app.test_client()
    commit = origin.commit({"dags/second.py": good_dag("second")}, "Add second (#4)")
    record = deploy(client, airflow_runner, commit)
    assert record["state"] == "succeeded", record
    assert airflow.dags["second"]["bundle_version"] == commit
    assert airflow.dags["hello"]["bundle_version"] == commit
    # The parse request used an existing DAG's file token (the new file has none yet).
    assert airflow.parse_requests == ["token-hello.py"]
    assert {"reparse", "visible"} <= set(record["stages"])
    assert record["import_errors_before"] == record["import_errors_after"] == 0


def test_import_errors_rising_in_airflow_roll_back_automatically(airflow_app, airflow_runner, airflow,
                                                                origin):
    client = airflow_app.test_client()
    good = airflow_runner.ctx.mirror.deployed()
    # Valid for the validator, but fails inside the real environment (the fake's FAILS_IN_AIRFLOW marker).
    commit = origin.commit({"dags/fragile.py": good_dag("fragile") + "# FAILS_IN_AIRFLOW\n"}, "fragile")
    record = deploy(client, airflow_runner, commit)
    assert record["state"] == "rolled_back", record
    assert "import errors rose from 0 to 1" in record["reason"]
    assert "fragile.py" in record["reason"]
    assert airflow_runner.ctx.mirror.deployed() == good
    assert "rollback" in record["stages"]


def test_dags_that_never_show_up_roll_back(make_app, airflow, make_runner, origin):
    app = make_app(airflow_url=airflow.url, airflow_username=airflow.username,
                   airflow_password=airflow.password, visible_timeout=1.0)
    runner = make_runner(app)
    runner.ctx.mirror.publish(runner.ctx.mirror.fetch(), None)
    airflow.parse()
    good = runner.ctx.mirror.deployed()
    airflow.auto_parse = False  # the DAG processor is stuck
    record = deploy(app.test_client(), runner, origin.commit({"dags/late.py": good_dag("late")}))
    assert record["state"] == "rolled_back"
    assert "did not report commit" in record["reason"]
    assert runner.ctx.mirror.deployed() == good


def test_airflow_down_before_publishing_changes_nothing(airflow_app, airflow_runner, airflow, origin):
    good = airflow_runner.ctx.mirror.deployed()
    airflow.down = True
    record = deploy(airflow_app.test_client(), airflow_runner, origin.commit({"dags/x.py": good_dag("x")}))
    assert record["state"] == "failed"
    assert "nothing was published" in record["reason"]
    assert airflow_runner.ctx.mirror.deployed() == good


def test_client_logs_in_again_when_the_token_expires(airflow):
    client = AirflowClient(airflow.url, airflow.username, airflow.password, "gitops")
    client.dags()
    client._token = "expired"
    client.dags()
    assert airflow.token_requests == 2


def test_client_reports_bad_credentials_clearly(airflow):
    client = AirflowClient(airflow.url, airflow.username, "wrong", "gitops")
    try:
        client.dags()
    except AirflowError as exc:
        assert "login failed with HTTP 401" in str(exc)
    else:
        raise AssertionError("expected AirflowError")


def test_a_file_still_failing_from_a_rolled_back_commit_is_caught_at_once(airflow_app, airflow_runner, airflow,
                                                                           origin):
    """Airflow keeps the import error of a rolled-back file; the next commit that still has it must not
    wait for the timeout, and an unrelated error that was there before must not block a good deploy."""
    client = airflow_app.test_client()
    fragile = good_dag("fragile") + "# FAILS_IN_AIRFLOW\n"
    first = deploy(client, airflow_runner, origin.commit({"dags/fragile.py": fragile}, "fragile"))
    assert first["state"] == "rolled_back"
    # Airflow still shows the error of fragile.py after the rollback.
    airflow.stale_errors = [{"import_error_id": 9, "timestamp": "2026-01-01T00:00:00Z", "filename": "fragile.py",
                             "bundle_name": "gitops", "stack_trace": "RuntimeError: old"}]
    airflow.parse()
    assert [e["filename"] for e in airflow.errors] == ["fragile.py"]
    again = deploy(client, airflow_runner, origin.commit({"dags/other.py": good_dag("other")}, "other"))
    assert again["state"] == "rolled_back"
    assert "fragile.py" in again["reason"]
    assert again["stages"]["visible"] < 3.0
    fixed = deploy(client, airflow_runner, origin.commit({"dags/fragile.py": None}, "remove fragile"))
    assert fixed["state"] == "succeeded", fixed


def test_only_the_dag_files_whose_code_changed_are_parsed_again(airflow_app, airflow_runner, airflow, origin):
    client = airflow_app.test_client()
    shared = "from helpers import note\n"
    added = deploy(client, airflow_runner, origin.commit(
        {"dags/second.py": shared + good_dag("second"), "dags/helpers.py": "note = 1\n"}, "second, helpers"))
    assert added["state"] == "succeeded", added
    airflow.parse_requests.clear()
    one = deploy(client, airflow_runner, origin.commit({"dags/second.py": shared + good_dag("second", "v2")}))
    assert one["state"] == "succeeded", one
    assert airflow.parse_requests == ["token-second.py"]
    assert airflow_runner.ctx.history.get(one["id"])["reparse"] == ["second.py"]
    airflow.parse_requests.clear()
    helper = deploy(client, airflow_runner, origin.commit({"dags/helpers.py": "note = 2\n"}))
    assert helper["state"] == "succeeded", helper
    assert airflow.parse_requests == ["token-second.py"]
    airflow.parse_requests.clear()
    outside = deploy(client, airflow_runner, origin.commit({"README.md": "words\n"}))
    assert outside["state"] == "succeeded", outside
    assert len(airflow.parse_requests) == 1  # one file, so that Airflow refreshes the bundle at once
    airflow.parse_requests.clear()
    data = deploy(client, airflow_runner, origin.commit({"dags/settings.yaml": "a: 1\n"}))
    assert data["state"] == "succeeded", data
    assert sorted(airflow.parse_requests) == ["token-hello.py", "token-second.py"]
