"""The example pipelines on a native stack, offline: `up` applies dags/bootstrap.yaml (pools, variables, the
warehouse and Slack connections from 1Password), each example DAG runs green with `./stack airflow dags test`,
and the day's CSV downloads through HAProxy with the operators' login only."""

from __future__ import annotations

import re

import pytest
import requests

pytestmark = pytest.mark.integration

EXAMPLES = ("orders_upsert", "event_loading", "organisation_statistics", "partner_delivery", "orders_export")


def test_up_applied_the_bootstrap_file(native_stack):
    summary = [line for line in native_stack.up_output.splitlines() if line.startswith("bootstrap:")]
    assert summary and "0 skipped" in summary[0] and "0 drifted" in summary[0], native_stack.up_output[-3000:]
    warehouse = native_stack.api("GET", "/pools/warehouse").json()
    assert warehouse["slots"] == 2
    connection = native_stack.api("GET", "/connections/warehouse").json()
    assert (connection["conn_type"], connection["login"], connection["schema"]) == ("postgres", "warehouse",
                                                                                     "warehouse")
    assert connection["password"] != native_stack.settings["WAREHOUSE_PASSWORD"]  # shown redacted, never as is


@pytest.mark.parametrize("dag_id", EXAMPLES)
def test_each_example_runs_green_with_dags_test(native_stack, dag_id):
    result = native_stack.run("airflow", "dags", "test", dag_id, timeout=400)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert re.search(r"state=success", output), output[-3000:]


def test_the_export_downloads_through_haproxy_with_the_operators_login_only(native_stack):
    native_stack.run("airflow", "dags", "test", "orders_export", timeout=400)
    url = native_stack.url("diagnostics") + "/exports/orders-latest.csv"
    assert requests.get(url, timeout=10).status_code == 401
    reply = requests.get(url, auth=native_stack.flower_auth, timeout=10)
    assert reply.status_code == 200
    assert reply.text.splitlines()[0] == "order_id,customer,amount,status,ordered_at,updated_at"


def test_the_webhooks_post_deploy_step_reports_a_change_made_in_the_ui_as_drift(native_stack, monkeypatch):
    """What the webhook runs after a deploy (bootstrapfile.deployed, through the REST API), on this stack."""
    from bootstrapfile.deployed import apply_deployed
    from stackctl.settings import PROJECT_DIR
    from webhook.deploy.airflow_api import AirflowClient

    settings = native_stack.settings
    monkeypatch.setenv("OP_CONNECT", f"http://127.0.0.1:{settings['FAKE_ONEPASSWORD_PORT']}")
    monkeypatch.setenv("OP_API_TOKEN", "development-only-token")
    monkeypatch.setenv("OP_VAULT_ID", "airflowdevelopmentvault001")
    monkeypatch.setenv("POSTGRES_HOST", "127.0.0.1")
    monkeypatch.setenv("POSTGRES_PORT", settings["POSTGRES_PORT"])
    client = AirflowClient(native_stack.url("airflow"), *native_stack.admin, bundle="dags-folder")

    def deployed(path: str) -> str:
        return (PROJECT_DIR / path).read_text()

    def set_slots(slots: int) -> int:  # as the UI does
        return native_stack.api("PATCH", "/pools/warehouse", params={"update_mask": ["slots"]},
                                json={"pool": "warehouse", "slots": slots, "include_deferred": False}).status_code

    assert apply_deployed(deployed, client, "test-1") == {"bootstrap": {}}  # nothing to do, nothing to report
    assert set_slots(5) == 200
    try:
        outcome = apply_deployed(deployed, client, "test-2")["bootstrap"]
        assert [line.split(":")[0] for line in outcome["drift"]] == ["pool 'warehouse' (line 13)"]
        assert "slots is 5 in Airflow, 2 in the file" in outcome["drift"][0]
        assert native_stack.api("GET", "/pools/warehouse").json()["slots"] == 5
    finally:
        set_slots(2)


def test_the_sensor_waits_in_the_triggerer_until_the_partner_publishes(native_stack):
    """partner_delivery deferred: no worker slot while the partner's API says 404; the triggerer (importing
    dagtriggers from the stack's code) fires once it answers 200, and the run ends green on its first try."""
    import time

    scenario = f"http://127.0.0.1:{native_stack.settings['FIXTURE_SERVER_PORT']}/_fixture/scenario"
    assert requests.put(scenario, json={"partner": "pending"}, timeout=10).status_code == 200
    try:
        run_id = native_stack.trigger_dag("partner_delivery")
        deadline = time.monotonic() + 120
        while True:
            sensor = {t["task_id"]: t for t in native_stack.task_instances("partner_delivery", run_id)}.get(
                "wait_for_delivery", {})
            if sensor.get("state") == "deferred" and sensor.get("trigger"):
                break
            assert time.monotonic() < deadline, f"the sensor never deferred: {sensor}"
            time.sleep(1)
        assert sensor["trigger"]["classpath"] == "dagtriggers.http_ready.HttpReadyTrigger"
        time.sleep(5)  # still waiting: the partner has not published
        assert native_stack.api("GET", f"/dags/partner_delivery/dagRuns/{run_id}").json()["state"] == "running"
        requests.put(scenario, json={"partner": "ready"}, timeout=10)
        assert native_stack.wait_run("partner_delivery", run_id, timeout=180) == "success"
        tries = {t["task_id"]: t["try_number"] for t in native_stack.task_instances("partner_delivery", run_id)}
        assert tries == {"wait_for_delivery": 1, "delivery_row": 1, "record_delivery": 1}
    finally:
        requests.put(scenario, json={"partner": "ready"}, timeout=10)
