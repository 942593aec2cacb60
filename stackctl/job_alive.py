"""Is an Airflow job (scheduler, DAG processor, triggerer) alive? `airflow jobs check` without importing Airflow.

    python -m stackctl.job_alive SchedulerJob [--local]

A running job of that type whose heartbeat in the database is younger than Airflow's health threshold (30 s
for each of the three, `[scheduler] scheduler_health_check_threshold` and its siblings); `--local`: one whose
hostname is this host's (Airflow's own way of naming it). Exit status 0 when alive, 1 when not, with one line
saying why. It reads AIRFLOW__DATABASE__SQL_ALCHEMY_CONN and needs psycopg2 only: a check costs a Python start
and one query (tens of milliseconds), where `airflow jobs check` costs a whole Airflow CLI start (seconds of CPU),
and the scheduler needs no health server of its own (`[scheduler] enable_health_check`, a forked process).
Compose's healthchecks run it; natively `up` and `status` call `check` (stackctl/health.py).
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import unquote, urlsplit

THRESHOLD_SECONDS = 30  # Airflow's default health threshold of each of the three job types


def connect(database_url: str):
    """A psycopg2 connection from Airflow's SQLAlchemy URL (postgresql+psycopg2://user:password@host:port/db)."""
    import psycopg2

    parts = urlsplit(database_url)
    return psycopg2.connect(host=parts.hostname, port=parts.port, user=unquote(parts.username or ""),
                            password=unquote(parts.password or ""), dbname=parts.path.lstrip("/"),
                            connect_timeout=10)


def hostname() -> str:
    """This host as Airflow names it in the job table (`airflow.utils.net.getfqdn`, its default hostname_callable)."""
    name = socket.gethostname()
    try:
        found = socket.getaddrinfo(name, None, 0, socket.SOCK_DGRAM, 0, socket.AI_CANONNAME)
    except OSError:
        return name
    return next((entry[3] for entry in found if entry[3]), name)


def check(database_url: str, job_type: str, host: str | None = None, since: float | None = None
          ) -> tuple[bool, str]:
    """(alive, what was found) for the newest running job of `job_type` (on `host` when given; started at or
    after the epoch time `since` when given: `up` asks for the jobs of the programs it started, so the row a
    killed program left `running` with a heartbeat seconds old does not pass for the new one)."""
    import psycopg2

    try:
        connection = connect(database_url)
    except psycopg2.Error as error:
        return False, str(error).strip()[:80]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('job') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return False, "no job table yet"
            cursor.execute("SELECT max(latest_heartbeat), max(latest_heartbeat) > now() - make_interval(secs => %s)"
                           " FROM job WHERE job_type = %s AND state = 'running' AND (%s IS NULL OR hostname = %s)"
                           " AND (%s IS NULL OR start_date >= to_timestamp(%s))",
                           (THRESHOLD_SECONDS, job_type, host, host, since, since))
            beat, recent = cursor.fetchone()
    finally:
        connection.close()
    where = (f" on {host}" if host else "") + (" since this start" if since is not None else "")
    if beat is None:
        return False, f"no running {job_type}{where}"
    return bool(recent), (f"latest heartbeat {beat:%H:%M:%S}" if recent else
                          f"{job_type}{where}: latest heartbeat {beat:%H:%M:%S}, more than {THRESHOLD_SECONDS} s ago")


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-") or set(argv[1:]) - {"--local"}:
        print("usage: python -m stackctl.job_alive SchedulerJob|DagProcessorJob|TriggererJob [--local]",
              file=sys.stderr)
        return 2
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if not url:
        print("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is not set: it says where the job table is", file=sys.stderr)
        return 2
    alive, detail = check(url, argv[0], hostname() if "--local" in argv[1:] else None)
    print(detail)
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
