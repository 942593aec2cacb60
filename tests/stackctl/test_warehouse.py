"""The warehouse role and database (stackctl/warehouse.py) on a real PostgreSQL: made once, safe to repeat,
and the role reaches its own database only, not Airflow's."""

from __future__ import annotations

import psycopg2
import pytest

from devtools.throwaway_postgres import ThrowawayPostgres
from stackctl import celery_results, warehouse


def test_the_warehouse_role_owns_its_database_and_cannot_open_airflows():
    with ThrowawayPostgres() as pg:  # runs warehouse.ensure once
        pg.superuser_query("CREATE DATABASE airflow")
        celery_results.ensure(pg.superuser_query, "results-password", "airflow")  # what up does next
        warehouse.ensure(pg.superuser_query, pg.password)  # a second up changes nothing
        with psycopg2.connect(pg.url) as conn, conn.cursor() as cursor:
            cursor.execute("CREATE TABLE mine (id int)")
        assert pg.superuser_query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'warehouse'") \
            == "warehouse"
        with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
            psycopg2.connect(pg.url.rsplit("/", 1)[0] + "/airflow").close()


def test_a_password_that_would_break_a_url_is_refused_naming_the_variable():
    with pytest.raises(ValueError, match="WAREHOUSE_PASSWORD must be non-empty and use URL-safe characters"):
        warehouse.ensure(lambda sql: "", "p@ss/word")
