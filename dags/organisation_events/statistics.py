"""
### organisation_statistics: per organisation and day, how many events of each kind

Scheduled on the asset `events`: it runs after each successful `event_loading`, never before the events it
counts are in. One SQL statement recomputes `organisation_statistics` from `events` and writes only the rows
that changed, so running it twice is harmless. Shares the `warehouse` pool with the loader.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task
from dagutils.notifications import task_fail_slack_alert

from organisation_events.assets import EVENTS, WAREHOUSE_POOL

STATISTICS = """
CREATE TABLE IF NOT EXISTS organisation_statistics (
    organisation    text NOT NULL,
    day             date NOT NULL,
    events          integer NOT NULL,
    signups         integer NOT NULL,
    purchases       integer NOT NULL,
    support_tickets integer NOT NULL,
    PRIMARY KEY (organisation, day)
);
CREATE TABLE IF NOT EXISTS events (
    event_id text PRIMARY KEY, organisation text NOT NULL, kind text NOT NULL, occurred_at timestamptz NOT NULL
);
INSERT INTO organisation_statistics AS s
SELECT organisation, (occurred_at AT TIME ZONE 'UTC')::date, count(*),
       count(*) FILTER (WHERE kind = 'signup'), count(*) FILTER (WHERE kind = 'purchase'),
       count(*) FILTER (WHERE kind = 'support_ticket')
FROM events GROUP BY 1, 2
ON CONFLICT (organisation, day) DO UPDATE
SET events = EXCLUDED.events, signups = EXCLUDED.signups, purchases = EXCLUDED.purchases,
    support_tickets = EXCLUDED.support_tickets
WHERE (s.events, s.signups, s.purchases, s.support_tickets)
      IS DISTINCT FROM (EXCLUDED.events, EXCLUDED.signups, EXCLUDED.purchases, EXCLUDED.support_tickets)
"""


@dag(
    dag_id="organisation_statistics",
    schedule=[EVENTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    tags=["example", "warehouse", "events"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 3,
        "retry_delay": timedelta(seconds=20),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(minutes=10),
        "pool": WAREHOUSE_POOL,
        "on_failure_callback": task_fail_slack_alert,
    },
)
def organisation_statistics():
    @task
    def compute_statistics() -> dict:
        from dagutils.warehouse import WarehouseHook  # in the task: parsing never loads the database driver

        hook = WarehouseHook()
        hook.run(STATISTICS)
        rows = hook.get_records("SELECT count(*), count(DISTINCT organisation), coalesce(sum(events), 0) "
                                "FROM organisation_statistics")[0]
        summary = {"rows": rows[0], "organisations": rows[1], "events": int(rows[2])}
        print(f"organisation_statistics: {summary}")
        return summary

    compute_statistics()


organisation_statistics()
