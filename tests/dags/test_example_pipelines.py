"""The example pipelines run end to end with dag.test(), offline: the fixture server for the outside systems, a
real PostgreSQL for the warehouse, a fake Slack. What is asserted is what a user would look at: task states,
the warehouse's tables, the exported file, the Slack messages."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psycopg2
import pytest

from devtools.fake_slack import FakeSlack
from devtools.fixture_server import FixtureServer
from devtools.throwaway_postgres import ThrowawayPostgres
from stacktest.airflow_home import slack_connection, sqlite_airflow_env

PROJECT = Path(__file__).resolve().parents[2]
DAGS = PROJECT / "dags"
PACKAGES = ("dagutils", "orders_upsert", "organisation_events", "partner_delivery", "orders_export")
DAY = "2026-03-01"

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Airflow home (SQLite, migrated once), a DAG folder with only the examples, and the outside world."""
    root = tmp_path_factory.mktemp("pipelines")
    with ThrowawayPostgres() as pg, FixtureServer() as fixtures, FakeSlack() as slack:
        env = sqlite_airflow_env(
            root, PACKAGES,
            AIRFLOW_CONN_SLACK=slack_connection(slack.url),
            AIRFLOW_CONN_WAREHOUSE=pg.connection_json, PIPELINE_SOURCE_URL=fixtures.url, ENVIRONMENT="development",
            DIAGNOSTICS_DIR=str(root / "diagnostics"))
        yield {"env": env, "pg": pg, "fixtures": fixtures, "slack": slack, "root": root}


def run(world, dag_id: str, day: str = DAY, **env) -> dict:
    result = subprocess.run([sys.executable, str(Path(__file__).with_name("pipeline_run.py")), dag_id, day],
                            env={**world["env"], **env}, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"dag.test() printed no result:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return json.loads(lines[0].removeprefix("RESULT "))


def query(world, sql: str) -> list[tuple]:
    with psycopg2.connect(world["pg"].url) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_orders_upsert_loads_the_clean_orders_once_however_often_it_runs(world):
    first = run(world, "orders_upsert")
    assert first["state"] == "success", first
    assert first["tasks"]["warehouse_unreachable"] == "skipped"
    table = query(world, "SELECT order_id, customer, amount::text, status FROM orders ORDER BY order_id")
    assert table == [("O-20260301-001", "Ada Lovelace", "14.00", "shipped"),
                     ("O-20260301-002", None, "99.99", "shipped"),
                     ("O-20260301-003", "Grace Hopper", "5.00", "pending"),
                     ("O-20260301-004", None, "1250.00", "pending"),
                     ("O-20260301-005", "Alan Turing", "30.10", "cancelled")]
    versions = query(world, "SELECT order_id, xmin::text FROM orders ORDER BY order_id")
    assert run(world, "orders_upsert")["state"] == "success"
    assert query(world, "SELECT order_id, xmin::text FROM orders ORDER BY order_id") == versions  # nothing rewritten


def test_orders_upsert_skips_everything_and_says_so_when_the_warehouse_is_unreachable(world):
    world["slack"].clear()
    refused = json.dumps({**json.loads(world["pg"].connection_json), "port": 1})
    result = run(world, "orders_upsert", AIRFLOW_CONN_WAREHOUSE=refused)
    assert result["state"] == "success", result
    assert result["tasks"] == {"check_warehouse": "success", "warehouse_unreachable": "success",
                               "extract_orders": "skipped", "clean": "skipped", "sanity_check": "skipped",
                               "load_orders": "skipped"}
    texts = [m.get("text", "") for m in world["slack"].snapshot()]
    assert any("Warehouse unreachable" in t and "orders_upsert" in t and "warehouse_unreachable" in t
               for t in texts), texts


def test_a_failed_sanity_check_loads_nothing_and_alerts_with_the_dag_and_task_ids(world):
    world["slack"].clear()
    result = run(world, "orders_upsert", "2026-03-02", AIRFLOW_VAR_ORDERS_MIN_ROWS="50")
    assert result["state"] == "failed"
    assert result["tasks"]["sanity_check"] == "failed" and result["tasks"]["load_orders"] == "upstream_failed"
    assert query(world, "SELECT count(*) FROM orders WHERE order_id LIKE 'O-20260302-%'") == [(0,)]
    texts = [m.get("text", "") for m in world["slack"].snapshot()]
    assert any("orders_upsert" in t and "sanity_check" in t and "orders_min_rows" in t for t in texts), texts


def test_the_cleaning_and_the_load_report_their_counts_to_statsd(world):
    """Business metrics (dagutils.metrics) from a real run arrive at the exporter's UDP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as exporter:
        exporter.bind(("127.0.0.1", 0))
        exporter.settimeout(0.5)
        result = run(world, "orders_upsert", "2026-03-03", AIRFLOW__METRICS__STATSD_ON="True",
                     AIRFLOW__METRICS__STATSD_HOST="127.0.0.1",
                     AIRFLOW__METRICS__STATSD_PORT=str(exporter.getsockname()[1]))
        lines = []
        while True:
            try:
                lines += exporter.recv(65535).decode().splitlines()
            except TimeoutError:
                break
    assert result["state"] == "success", result
    business = [line for line in lines if line.startswith("airflow_business.")]
    # the fixture day: 10 rows, 4 that cannot be loaded, 1 duplicate, 5 new orders
    assert {"airflow_business.rows_received.orders_upsert.clean:10|c",
            "airflow_business.dirty_rows_dropped.orders_upsert.clean:4|c",
            "airflow_business.duplicate_rows_merged.orders_upsert.clean:1|c",
            "airflow_business.rows_loaded.orders_upsert.load_orders:5|c",
            "airflow_business.rows_unchanged.orders_upsert.load_orders:0|c"} <= set(business), business


def test_events_are_loaded_then_counted_per_organisation(world):
    assert run(world, "event_loading")["state"] == "success"
    events = query(world, "SELECT count(*) FROM events")[0][0]
    assert 40 <= events <= 60
    assert run(world, "event_loading")["state"] == "success"
    assert query(world, "SELECT count(*) FROM events")[0][0] == events  # a re-run duplicates nothing
    assert run(world, "organisation_statistics")["state"] == "success"
    stats = query(world, "SELECT organisation, events FROM organisation_statistics WHERE day = '2026-03-01'")
    assert sum(count for _, count in stats) == events
    assert {name for name, _ in stats} <= {"acme", "globex", "initech", "umbrella"}


def test_the_sensor_waits_for_the_partner_and_then_records_the_delivery(world):
    fixtures = world["fixtures"]
    fixtures.set_scenario({"partner": "pending"})
    timer = threading.Timer(8, fixtures.set_scenario, [{"partner": "ready"}])
    timer.start()
    try:
        result = run(world, "partner_delivery")
    finally:
        timer.cancel()
        fixtures.set_scenario({"partner": "ready"})
    assert result["state"] == "success", result
    assert query(world, "SELECT day::text, orders FROM deliveries") == [("2026-03-01", 10)]


def test_the_export_writes_the_days_csv(world):
    assert run(world, "orders_export")["state"] == "success"
    exported = Path(world["env"]["DIAGNOSTICS_DIR"]) / "exports" / f"orders-{DAY}.csv"
    rows = list(csv.reader(exported.read_text().splitlines()))
    assert rows[0] == ["order_id", "customer", "amount", "status", "ordered_at", "updated_at"]
    # every order in the warehouse, in order: the day's five and whatever the module's earlier runs loaded
    assert [r[0] for r in rows[1:]] == [r[0] for r in query(world, "SELECT order_id FROM orders ORDER BY order_id")]
    assert {f"O-20260301-00{n}" for n in range(1, 6)} <= {r[0] for r in rows[1:]}
    assert (exported.parent / "orders-latest.csv").read_text() == exported.read_text()
