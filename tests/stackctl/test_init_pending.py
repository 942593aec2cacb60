"""airflow-init runs a step only when the database needs it (stackctl/init.py `pending`), asked of a real
PostgreSQL and a migrations folder laid out as Airflow's is: the migration is skipped at head, run when not."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from devtools.throwaway_postgres import ThrowawayPostgres
from stackctl import init


def _revision(folder: Path, name: str, down: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(f'"""{name}"""\n\nrevision = "{name}"\ndown_revision = {down!r}\n'
                                       f"branch_labels = None\n")


@pytest.fixture
def airflow_package(tmp_path):
    """An installed airflow package's migrations: Airflow's own at a2, FAB's at f1."""
    package = tmp_path / "airflow"
    _revision(package / "migrations" / "versions", "a1", None)
    _revision(package / "migrations" / "versions", "a2", "a1")
    _revision(package / "providers" / "fab" / "migrations" / "versions", "f1", None)
    for folder in ("migrations", "providers/fab/migrations"):
        (package / folder / "env.py").write_text("")
    return package


@pytest.fixture(scope="module")
def database():
    with ThrowawayPostgres() as pg:
        pg.superuser_query("CREATE DATABASE airflow OWNER warehouse")
        yield pg


@pytest.fixture
def environ(database):
    yield {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _url(database).replace("postgresql://", "postgresql+psycopg2://"),
           "_AIRFLOW_WWW_USER_USERNAME": "admin"}
    _sql(database, "DROP TABLE IF EXISTS alembic_version, alembic_version_fab, ab_user")


def _url(database) -> str:
    return database.url.rsplit("/", 1)[0] + "/airflow"


def _sql(database, sql: str, *args) -> None:
    with psycopg2.connect(_url(database)) as conn, conn.cursor() as cursor:
        cursor.execute(sql, args)
    conn.close()


def _at(database, table: str, revision: str) -> None:
    _sql(database, f"CREATE TABLE {table} (version_num varchar(32)); INSERT INTO {table} VALUES (%s)", revision)


def _admin(database, name: str) -> None:
    _sql(database, "CREATE TABLE ab_user (username varchar(256)); INSERT INTO ab_user VALUES (%s)", name)


def test_the_installed_heads_are_the_revisions_nobody_builds_on(airflow_package):
    _revision(airflow_package / "migrations" / "versions", "a3", ("a2", "a1"))  # a merge names two
    assert init.installed_heads(airflow_package) == {"alembic_version": {"a3"}, "alembic_version_fab": {"f1"}}


def test_the_real_airflow_has_heads_for_both_version_tables():
    heads = init.installed_heads()
    assert heads is not None and set(heads) == set(init.MIGRATIONS)
    assert all(len(revisions) == 1 for revisions in heads.values()), heads


def test_a_new_database_needs_the_schema_and_the_admin(environ, airflow_package):
    assert init.pending(environ, airflow_package) == [init.SCHEMA, init.ADMIN]


def test_nothing_to_do_at_head_with_the_admin(environ, database, airflow_package):
    _at(database, "alembic_version", "a2")
    _at(database, "alembic_version_fab", "f1")
    _admin(database, "admin")
    assert init.pending(environ, airflow_package) == []


def test_a_newer_airflow_needs_the_migration(environ, database, airflow_package):
    _at(database, "alembic_version", "a2")
    _at(database, "alembic_version_fab", "f1")
    _admin(database, "admin")
    _revision(airflow_package / "migrations" / "versions", "a3", "a2")  # the requirements lock moved on
    assert init.pending(environ, airflow_package) == [init.SCHEMA]


def test_a_missing_version_table_needs_the_migration(environ, database, airflow_package):
    _at(database, "alembic_version", "a2")  # FAB's tables never made
    _admin(database, "admin")
    assert init.pending(environ, airflow_package) == [init.SCHEMA]


def test_another_admin_name_needs_its_admin(environ, database, airflow_package):
    _at(database, "alembic_version", "a2")
    _at(database, "alembic_version_fab", "f1")
    _admin(database, "someone-else")
    assert init.pending(environ, airflow_package) == [init.ADMIN]


def test_migrations_of_a_provider_we_do_not_know_leave_it_to_airflow(environ, database, airflow_package):
    _at(database, "alembic_version", "a2")
    _at(database, "alembic_version_fab", "f1")
    _admin(database, "admin")
    _revision(airflow_package / "providers" / "edge" / "migrations" / "versions", "e1", None)
    (airflow_package / "providers" / "edge" / "migrations" / "env.py").write_text("")
    assert init.pending(environ, airflow_package) == [init.SCHEMA]
