"""WarehouseUpsertOperator: load a list of rows (usually an upstream task's XCom) into a warehouse table.

    load = WarehouseUpsertOperator(task_id="load_orders", table="orders", key=("order_id",),
                                   columns=ORDER_COLUMNS, rows=clean_orders(), setup_sql=ORDERS_TABLE)

Idempotent: a re-run inserts nothing twice and rewrites no unchanged row. Returns (and pushes to XCom)
{"inserted": n, "updated": n, "unchanged": n}, and counts the rows written (inserted or updated) in the
business metric `rows_loaded` and the others in `rows_unchanged` (dagutils.metrics).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator


class WarehouseUpsertOperator(BaseOperator):
    """Upsert `rows` into `table` on `key` through WarehouseHook (conn_id: default the `warehouse` connection)."""

    template_fields: Sequence[str] = ("rows", "table")
    ui_color = "#cfe8ff"

    def __init__(self, *, table: str, key: Sequence[str], rows: Any, columns: Sequence[str] | None = None,
                 setup_sql: str | None = None, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.table = table
        self.key = tuple(key)
        self.rows = rows
        self.columns = tuple(columns) if columns else None
        self.setup_sql = setup_sql
        self.conn_id = conn_id

    def execute(self, context: Any) -> dict[str, int]:
        # imported here, not by the DAG file: parsing stays free of the PostgreSQL driver
        from dagutils import metrics
        from dagutils.warehouse import WAREHOUSE_CONN_ID, WarehouseHook

        rows = list(self.rows or [])
        result = WarehouseHook(postgres_conn_id=self.conn_id or WAREHOUSE_CONN_ID).upsert(
            self.table, rows, self.key, self.columns, self.setup_sql)
        self.log.info("upsert into %s: %d rows, %d inserted, %d updated, %d unchanged", self.table, len(rows),
                      result.inserted, result.updated, result.unchanged)
        metrics.count("rows_loaded", result.inserted + result.updated)
        metrics.count("rows_unchanged", result.unchanged)
        return result.as_dict()
