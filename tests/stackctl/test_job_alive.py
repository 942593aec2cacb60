"""The scheduler's, DAG processor's and triggerer's health (stackctl/job_alive.py): asked of a real PostgreSQL
holding Airflow's own job table, the way compose's healthcheck runs it (`python -m stackctl.job_alive`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy

from devtools.throwaway_postgres import ThrowawayPostgres
from stackctl import job_alive

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def database_url():
    """An empty database; Airflow's SQLAlchemy URL for it, as the stack gives it."""
    with ThrowawayPostgres() as pg:
        yield pg.url.replace("postgresql://", "postgresql+psycopg2://")


@pytest.fixture
def job_table(database_url):
    from airflow.jobs.job import Job

    engine = sqlalchemy.create_engine(database_url)
    Job.__table__.create(engine)
    yield
    Job.__table__.drop(engine)
    engine.dispose()


def beat(url: str, job_type: str, seconds_ago: int, state: str = "running", host: str = "",
         started_ago: int = 3600) -> None:
    with psycopg2.connect(url.replace("+psycopg2", "")) as conn, conn.cursor() as cursor:
        cursor.execute("INSERT INTO job (job_type, state, hostname, latest_heartbeat, start_date) "
                       "VALUES (%s, %s, %s, now() - make_interval(secs => %s), now() - make_interval(secs => %s))",
                       (job_type, state, host or job_alive.hostname(), seconds_ago, started_ago))
    conn.close()


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "stackctl.job_alive", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_before_the_migration_it_says_there_is_no_job_table(database_url):
    assert job_alive.check(database_url, "SchedulerJob") == (False, "no job table yet")


def test_a_running_scheduler_with_a_recent_heartbeat_is_healthy(database_url, job_table):
    beat(database_url, "SchedulerJob", 3)
    result = run(database_url, "SchedulerJob", "--local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("latest heartbeat")


def test_a_stopped_scheduler_is_unhealthy_once_its_heartbeat_is_older_than_the_threshold(database_url, job_table):
    # what a scheduler killed -9 leaves: its row still `running`, its heartbeat getting older
    beat(database_url, "SchedulerJob", job_alive.THRESHOLD_SECONDS + 5)
    result = run(database_url, "SchedulerJob")
    assert result.returncode == 1
    assert "more than 30 s ago" in result.stdout
    # one stopped cleanly is no longer `running`
    beat(database_url, "SchedulerJob", 1, state="success")
    assert run(database_url, "SchedulerJob").returncode == 1


def test_another_job_type_or_another_host_does_not_count(database_url, job_table):
    beat(database_url, "TriggererJob", 1)
    beat(database_url, "SchedulerJob", 1, host="another-host.example.org")
    assert run(database_url, "SchedulerJob", "--local").stdout.strip() == (
        f"no running SchedulerJob on {job_alive.hostname()}")
    assert run(database_url, "SchedulerJob").returncode == 0  # any host's, as `up` asks natively
    assert run(database_url, "TriggererJob", "--local").returncode == 0


def test_a_fresh_up_does_not_take_a_killed_programs_job_for_the_one_it_started(database_url, job_table):
    # a DAG processor killed -9 five seconds ago left its row `running` with a heartbeat 5 s old; `up` started
    # a new one 2 s ago, which has not written its row yet
    up_started = time.time() - 2
    beat(database_url, "DagProcessorJob", 5, started_ago=600)
    assert job_alive.check(database_url, "DagProcessorJob")[0] is True  # what `status` would say
    alive, detail = job_alive.check(database_url, "DagProcessorJob", since=up_started)
    assert (alive, detail) == (False, "no running DagProcessorJob since this start")
    beat(database_url, "DagProcessorJob", 0, started_ago=1)  # the new one's first heartbeat
    assert job_alive.check(database_url, "DagProcessorJob", since=up_started)[0] is True


def test_an_unreachable_database_is_unhealthy_and_says_so(database_url):
    closed = database_url.rsplit(":", 1)[0] + ":1/warehouse"  # nothing listens on port 1
    alive, detail = job_alive.check(closed, "SchedulerJob")
    assert not alive and "connect" in detail


def test_without_the_database_setting_it_names_it():
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"}
    result = subprocess.run([sys.executable, "-m", "stackctl.job_alive", "SchedulerJob"], env={
        **env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in result.stderr
