"""A week of made-up but plausible history ending at `now`: DAG runs and task instances (as Airflow's API lists
them: fake_airflow.py), and metrics as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics` (what
the exporters would have shown Prometheus).

The expected figures the tests check (runs per day, last successes) are computed here from the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dashboard import panels

STEP = 60  # one sample a minute, like a scrape
DAYS = 7
CANARY_QUIET = 4 * 60  # the canary's runs stop this long before `now` (its last success is older still)


@dataclass(frozen=True)
class Dag:
    dag_id: str
    every: int  # seconds between runs
    fails_every: int  # every n-th run fails (0: never)
    only_failures: bool = False


DAGS = (
    Dag("canary", 300, 10),
    Dag("orders_upsert", 3600, 0),
    Dag("event_loading", 7200, 4),
    Dag("broken_pipeline", 21600, 0, only_failures=True),
)
# (dag_id, task_id) -> seconds each run of it takes (the last run of each DAG takes 10 s longer)
TASKS = {("orders_upsert", "load"): 42.0, ("orders_upsert", "extract"): 7.5, ("event_loading", "transform"): 95.0,
         ("canary", "check_source"): 1.5}


def runs(dag: Dag, start: float, end: float) -> list[tuple[float, str]]:
    """(finish time, state) of each run finished in [start, end)."""
    out, n = [], 0
    t = (start // dag.every + 1) * dag.every
    while t < end:
        n = int(t // dag.every)
        failed = dag.only_failures or (dag.fails_every and n % dag.fails_every == 0)
        out.append((t, "failed" if failed else "success"))
        t += dag.every
    return out


def finished(now: float) -> dict[str, list[tuple[float, str]]]:
    """Every DAG's runs over the fixture's week; the canary's stop CANARY_QUIET before `now`, on a success."""
    start = now - DAYS * 86400
    out = {dag.dag_id: runs(dag, start, now) for dag in DAGS}
    out["canary"] = [(t, s) for t, s in out["canary"] if t <= now - CANARY_QUIET]
    while out["canary"][-1][1] != "success":
        out["canary"].pop()
    return out


def last_success(now: float, dag_id: str) -> float:
    return max(t for t, state in finished(now)[dag_id] if state == "success")


def runs_per_day(now: float, tz) -> dict[tuple[str, str], int]:
    """(day label as the chart writes it, state) -> runs whose run_after (30 s before they end) is that day."""
    counts: dict[tuple[str, str], int] = {}
    for done in finished(now).values():
        for t, state in done:
            label = f"{datetime.fromtimestamp(t - 30, tz):%a %d}"
            counts[(label, state)] = counts.get((label, state), 0) + 1
    return counts


def _counter_lines(name: str, labels: str, events: list[float], start: float, now: float,
                   weights: list[float] | None = None) -> list[str]:
    """A counter sampled each STEP from start to now, rising by each event's weight (1) at its time."""
    lines, total, i = [], 0.0, 0
    t = start
    while t <= now:
        while i < len(events) and events[i] <= t:
            total += weights[i] if weights else 1
            i += 1
        lines.append(f"{name}{{{labels}}} {total:g} {t:.0f}")
        t += STEP
    return lines


def _gauge_lines(name: str, labels: str, start: float, now: float, value) -> list[str]:
    lines, t = [], start
    while t <= now:
        lines.append(f"{name}{{{labels}}} {value(t):g} {t:.0f}")
        t += STEP
    return lines


MEMORY_MIB = {"prometheus": 90, "statsd": 20, "webhook": 110}  # scrape job -> its program's resident memory
REDIS_MIB = 12
WORKERS = ("celery@a", "celery@b")


def running(t: float) -> int:
    """The executor's running tasks at time t."""
    return 1 + int(t / 900) % 3


def openmetrics(now: float) -> str:
    """The whole fixture, ending at `now` (rounded down to a whole minute by the caller)."""
    lines: list[str] = []
    day = now - 86400
    recent = now - panels.HOURS * 3600 - 600
    lines += _gauge_lines(panels.QUEUED, "", recent, now, lambda t: int(t / 600) % 5)
    lines += _gauge_lines(panels.RUNNING, "", recent, now, running)
    # Airflow's own open_slots (core.parallelism 32 minus running): not the workers' slots, the page ignores it
    lines += _gauge_lines("airflow_executor_open_slots", "", recent, now, lambda t: 32 - running(t))
    # two Celery workers online (Flower), executing the running tasks between them
    for worker in WORKERS:
        lines += _gauge_lines(panels.WORKERS_ONLINE, f'worker="{worker}"', recent, now, lambda t: 1)
    for worker, share in zip(WORKERS, (1, 0), strict=True):
        lines += _gauge_lines(panels.EXECUTING, f'worker="{worker}"', recent, now, lambda t, s=share: s * running(t))
    # collectd's memory plugin (job statsd): the machine's used memory
    lines += _gauge_lines("collectd_memory", 'job="statsd",memory="used"', recent, now,
                          lambda t: 4 * 2**30 + (t % 3600) * 2**17)
    lines += _gauge_lines("collectd_memory", 'job="statsd",memory="free"', recent, now, lambda t: 16 * 2**30)
    for job, mib in MEMORY_MIB.items():
        lines += _gauge_lines(panels.RESIDENT, f'job="{job}"', recent, now, lambda t, m=mib: m * 2**20)
    lines += _gauge_lines(panels.REDIS_USED, 'job="statsd",redis="broker"', recent, now, lambda t: REDIS_MIB * 2**20)
    rows = [t for t, s in finished(now)["orders_upsert"] if t >= day]
    lines += _counter_lines(f"{panels.BUSINESS}rows_loaded", 'dag_id="orders_upsert"', rows, day, now,
                            [250.0] * len(rows))
    lines += _gauge_lines(f"{panels.BUSINESS}dirty_rows_dropped", 'dag_id="orders_upsert"', day, now,
                          lambda t: int(t / 3600) % 7)
    return "\n".join(lines) + "\n# EOF\n"
