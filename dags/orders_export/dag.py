"""
### orders_export: every day at 12:00 team time, the warehouse's orders as a CSV to download

`export_orders` writes `orders-<day>.csv` (and `orders-latest.csv`) into `DIAGNOSTICS_DIR/exports/`. HAProxy
serves them at `/exports/<file>` on any public port, behind the operators' login (the one Flower and the
stats page ask for): `curl -u admin:$FLOWER_PASSWORD http://localhost:8083/exports/orders-latest.csv`.
The schedule is 12:00 in `TEAM_TIMEZONE` (America/Chicago unless set), daylight saving included. Files older
than 30 days are removed. Cells that a spreadsheet would run as formulas are prefixed with an apostrophe.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable
from dagutils import team
from dagutils.notifications import task_fail_slack_alert
from dagutils.run_day import run_day

from orders_export.csv_file import remove_old, write_export

HEADER = ("order_id", "customer", "amount", "status", "ordered_at", "updated_at")
TEAM_TIMEZONE = team.timezone_name()


@dag(
    dag_id="orders_export",
    schedule=CronTriggerTimetable("0 12 * * *", timezone=TEAM_TIMEZONE),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    tags=["example", "warehouse", "export"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(minutes=10),
        "on_failure_callback": task_fail_slack_alert,
    },
)
def orders_export():
    @task
    def export_orders(**context) -> dict:
        from dagutils.warehouse import WarehouseHook  # in the task: parsing never loads the database driver

        folder = Path(os.environ["DIAGNOSTICS_DIR"]) / "exports"
        day = run_day(context)
        hook = WarehouseHook()
        rows = []
        if hook.get_first("SELECT to_regclass('public.orders') IS NOT NULL")[0]:
            rows = hook.get_records(f"SELECT {', '.join(HEADER)} FROM orders ORDER BY order_id")
        else:
            print("the warehouse has no orders table yet (orders_upsert has not run): exporting the header only")
        name = f"orders-{day.isoformat()}.csv"
        count = write_export(folder, name, HEADER, rows)
        write_export(folder, "orders-latest.csv", HEADER, rows)
        removed = remove_old(folder, "orders", day)
        print(f"exported {count} orders to {folder / name}; removed {removed or 'nothing'}")
        return {"file": name, "rows": count, "download": f"/exports/{name}"}

    export_orders()


orders_export()
