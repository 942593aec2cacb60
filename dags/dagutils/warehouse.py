"""WarehouseHook: the example pipelines' PostgreSQL database through the Airflow connection `warehouse`.

The connection comes from dags/bootstrap.yaml (its password from the 1Password item "Warehouse database").
The hook adds what every pipeline writing to the warehouse needs: a quick reachability check and an idempotent
upsert that reports how many rows it inserted, updated and left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from airflow.providers.postgres.hooks.postgres import PostgresHook

WAREHOUSE_CONN_ID = "warehouse"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
BATCH = 500  # rows per INSERT statement


class UpsertError(ValueError):
    """The rows cannot be upserted as given; the message says which row or column is wrong."""


@dataclass(frozen=True)
class UpsertResult:
    inserted: int
    updated: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _name(value: str) -> str:
    """Table and column names are code, never data; refuse anything that would need quoting."""
    if not _NAME.match(value):
        raise UpsertError(f"{value!r} is not a plain lower-case SQL name (letters, digits, _)")
    return value


def upsert_statement(table: str, columns: Sequence[str], key: Sequence[str], rows: int) -> str:
    """INSERT ... ON CONFLICT (key) DO UPDATE only where a value differs, returning (xmax = 0) per row written.

    Rows whose values are all equal are not touched (no new row version, not returned), so a re-run of the
    same load writes nothing.
    """
    table, columns, key = _name(table), [_name(c) for c in columns], [_name(k) for k in key]
    missing = [k for k in key if k not in columns]
    if missing:
        raise UpsertError(f"key column(s) {', '.join(missing)} not among the columns {', '.join(columns)}")
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * rows)
    rest = [c for c in columns if c not in key]
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} ON CONFLICT ({', '.join(key)}) "
    if not rest:
        return head + "DO NOTHING RETURNING true"
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in rest)
    ours = ", ".join(f"{table}.{c}" for c in rest)
    theirs = ", ".join(f"EXCLUDED.{c}" for c in rest)
    return (head + f"DO UPDATE SET {assignments} WHERE ROW({ours}) IS DISTINCT FROM ROW({theirs}) "
            "RETURNING (xmax = 0)")


def _parameters(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], key: Sequence[str]) -> list[Any]:
    seen: dict[tuple, int] = {}
    flat: list[Any] = []
    for number, row in enumerate(rows, start=1):
        absent = [c for c in columns if c not in row]
        if absent:
            raise UpsertError(f"row {number} lacks column(s) {', '.join(absent)}")
        identity = tuple(row[k] for k in key)
        if any(value is None for value in identity):
            raise UpsertError(f"row {number} has no value for its key {', '.join(key)}")
        if identity in seen:
            # PostgreSQL refuses one statement touching a row twice; which copy wins is the cleaning's choice
            raise UpsertError(f"rows {seen[identity]} and {number} share the key {identity!r}; remove duplicates first")
        seen[identity] = number
        flat.extend(row[c] for c in columns)
    return flat


class WarehouseHook(PostgresHook):
    """PostgresHook on the `warehouse` connection, with is_reachable() and upsert()."""

    conn_name_attr = "postgres_conn_id"
    default_conn_name = WAREHOUSE_CONN_ID
    hook_name = "Warehouse (PostgreSQL)"

    def is_reachable(self) -> tuple[bool, str]:
        """(True, server version) or (False, why), never raising: for branching before any work."""
        try:
            conn = self.get_conn()
        except Exception as error:  # a missing connection, a refused socket, a wrong password: all "no"
            return False, f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        try:
            with conn.cursor() as cursor:
                cursor.execute("SHOW server_version")
                return True, f"PostgreSQL {cursor.fetchone()[0]}"
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"
        finally:
            conn.close()

    def upsert(self, table: str, rows: Iterable[Mapping[str, Any]], key: Sequence[str],
               columns: Sequence[str] | None = None, setup_sql: str | None = None) -> UpsertResult:
        """Insert new rows, update changed ones, leave equal ones alone, in one transaction.

        `columns` defaults to the first row's keys; `setup_sql` (e.g. CREATE TABLE IF NOT EXISTS) runs first,
        in the same transaction.
        """
        rows = list(rows)
        columns = list(columns or (rows[0].keys() if rows else key))
        flat = _parameters(rows, columns, key)
        inserted = updated = 0
        conn = self.get_conn()
        try:
            with conn.cursor() as cursor:
                if setup_sql:
                    cursor.execute(setup_sql)
                width = len(columns)
                for start in range(0, len(rows), BATCH):
                    count = min(BATCH, len(rows) - start)
                    cursor.execute(upsert_statement(table, columns, key, count),
                                   flat[start * width:(start + count) * width])
                    written = [row[0] for row in cursor.fetchall()]
                    inserted += sum(1 for fresh in written if fresh)
                    updated += sum(1 for fresh in written if not fresh)
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        finally:
            conn.close()
        return UpsertResult(inserted, updated, len(rows) - inserted - updated)
