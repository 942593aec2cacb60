"""The dashboard's panels: each one asks its source, and becomes a chart, a table, a sentence saying there is no
data yet, or an error line naming the source it could not read.

Where each panel reads, and why:
- Airflow's REST API (a read-only Viewer login): DAG runs per day by state, time since each DAG's last success,
  the slowest tasks, the canary. The run history is Airflow's own record: exact counts in every state (queued
  and running too), kept beyond Prometheus' retention. Airflow's StatsD timers reach Prometheus only as
  per-interval aggregates (collectd), which cannot be summed into exact run counts.
- Prometheus: queue depth (Airflow's executor gauges, the broker's queue) and worker slots (Flower's worker
  gauges), stack memory (each scraped program's own and Redis'), business metrics (StatsD prefix
  airflow_business), firing alerts. These exist nowhere else.
- The deploy webhook's status (public JSON): deploys and their results. Prometheus only counts deploys by
  result; the list (commit, author, when) exists only in the webhook's history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup

from dashboard import charts
from dashboard.airflow import Airflow
from dashboard.sources import Prometheus, SourceError

# Prometheus' names for Airflow's StatsD metrics (docker-compose.yaml, configs prometheus-yml) and the exporters'
QUEUED, RUNNING = "airflow_executor_queued_tasks", "airflow_executor_running_tasks"
# Flower's gauges per Celery worker (labels worker): 1 while it is online, and the tasks it is executing. The
# executor's own open_slots gauge is core.parallelism (32) minus its running tasks: the scheduler's limit, not
# the workers' slots.
WORKERS_ONLINE, EXECUTING = "flower_worker_online", "flower_worker_number_of_currently_executing_tasks"
RESIDENT = "process_resident_memory_bytes"  # each scraped program's own memory (label job)
REDIS_USED = "collectd_redis_memory"  # the Redis server's own count (used_memory), from collectd's redis plugin
MACHINE_USED = 'sum(collectd_memory{memory="used"})'  # collectd's memory plugin: not free, cache or buffers
# scrape jobs whose process_resident_memory_bytes is an exporter's, not the program it watches
EXPORTERS = {"statsd": "statsd-exporter", "tls": "blackbox-exporter"}
BROKER_QUEUE = "collectd_redis_queue_length"  # Celery's queue in Redis (collectd's redis plugin, LLEN): label type
BUSINESS = "airflow_business_"  # dagutils.metrics: the StatsD prefix airflow_business
RUN_STATES = ("success", "failed", "running", "queued")
CANARY = "canary"
CANARY_LATE_SECONDS = 15 * 60  # the canary runs every 5 minutes: three missed runs is late (as the alert)
DAYS = 7
HOURS = 6  # queue and memory charts


@dataclass
class Panel:
    id: str
    title: str
    source: str
    chart: Markup | None = None
    table: tuple[list[str], list[list[str]]] | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)  # (css class, sentence)
    empty: str = ""
    error: str = ""


TITLES = {  # panel id -> title; the page shows them in this order
    "runs-per-day": "DAG runs per day by state",
    "last-success": "Time since each DAG's last success",
    "slowest-tasks": "Slowest tasks (longest run, last 24 h)",
    "canary": "Canary",
    "deploys": "Deploys and their results",
    "queue": f"Queue depth and worker slots (last {HOURS} h)",
    "memory": f"Stack memory (last {HOURS} h)",
    "business": "Business metrics (last 24 h)",
}


SOURCES = {"runs-per-day": "Airflow", "last-success": "Airflow", "slowest-tasks": "Airflow", "canary": "Airflow",
           "deploys": "deploy webhook"}  # the others: Prometheus


def new_panel(panel_id: str, **fields) -> Panel:
    return Panel(panel_id, TITLES[panel_id], SOURCES.get(panel_id, "Prometheus"), **fields)


def ago(seconds: float) -> str:
    if seconds < 90:
        return f"{max(0, round(seconds))} s ago"
    if seconds < 5400:
        return f"{round(seconds / 60)} min ago"
    if seconds < 172800:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def seconds_text(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def megabytes(value: float) -> str:
    return f"{value / 2**30:.1f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"


class Dashboard:
    """Builds every panel for one page view, at one moment `now`."""

    def __init__(self, airflow: Airflow, prometheus: Prometheus, read_deploys: Callable[[], dict], tz: ZoneInfo,
                 now: float | None, worker_concurrency: int):
        self.airflow = airflow
        self.worker_concurrency = worker_concurrency
        self.prom = prometheus
        self.read_deploys = read_deploys
        self.tz = tz
        self.now = now or time.time()
        self._last_success: dict[str, float | None] | None = None

    def panels(self) -> list[Panel]:
        out = []
        for build in (getattr(self, panel_id.replace("-", "_")) for panel_id in TITLES):
            try:
                out.append(build())
            except SourceError as error:
                out.append(new_panel(build.__name__.replace("_", "-"), error=str(error)))
        return out

    def alerts(self) -> list[str]:
        """Firing alerts (Alertmanager's rules in Prometheus), for the line at the top; [] if none or unknown."""
        try:
            rows = self.prom.instant('ALERTS{alertstate="firing"}', at=self.now)
        except SourceError:
            return []
        return sorted({labels.get("alertname", "?") for labels, _ in rows})

    # ---- panels ------------------------------------------------------------------------------------------
    def runs_per_day(self) -> Panel:
        """DAG runs per day by state: runs of every DAG by the day they were for (run_after, team time zone)."""
        panel = new_panel("runs-per-day")
        today = datetime.fromtimestamp(self.now, self.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
        counts = {state: self._per_day(state, days) for state in RUN_STATES}
        if not any(any(values) for values in counts.values()):
            panel.empty = f"No DAG run in the last {DAYS} days."
            return panel
        panel.chart = charts.stacked_bars([f"{d:%a %d}" for d in days],
                                          {s: v for s, v in counts.items() if any(v)}, panel.title)
        return panel

    def _per_day(self, state: str, days: list[datetime]) -> list[float]:
        """Runs in `state` on each of `days`: one page of the week's runs counted here, or (more than a page) one
        count per day."""
        ends = [day + timedelta(days=1, microseconds=-1) for day in days]
        runs = self.airflow.runs_in_state(state, days[0], ends[-1])
        if runs is None:
            return [float(self.airflow.count_runs(state, day, end)) for day, end in zip(days, ends, strict=True)]
        counts = [0.0] * len(days)
        for run in runs:
            at = datetime.fromisoformat(run["run_after"])
            for i, (day, end) in enumerate(zip(days, ends, strict=True)):
                if day <= at <= end:
                    counts[i] += 1
        return counts

    def _successes(self) -> dict[str, float | None]:
        """dag_id -> unix time its newest successful run ended (None: it never succeeded)."""
        if self._last_success is None:
            found: dict[str, float | None] = {}
            for dag_id, ended in self.airflow.last_successes(self.airflow.dag_ids()).items():
                found[dag_id] = datetime.fromisoformat(ended).timestamp() if ended else None
            self._last_success = found  # only once complete: a failure halfway is raised again by the next panel
        return self._last_success

    def last_success(self) -> Panel:
        """Time since each DAG's last success: longest first, those that never succeeded at the top."""
        panel = new_panel("last-success")
        found = self._successes()
        if not found:
            panel.empty = "Airflow has no DAG yet."
            return panel
        rows = sorted(found.items(), key=lambda item: (item[1] is not None, item[1] or 0, item[0]))
        panel.table = (["DAG", "last success"], [
            [dag_id, ago(self.now - when) if when else "never"] for dag_id, when in rows])
        return panel

    def slowest_tasks(self) -> Panel:
        """Slowest tasks: each task's longest run among those that ended in the last 24 h, the ten longest."""
        panel = new_panel("slowest-tasks")
        longest: dict[str, float] = {}
        for ti in self.airflow.longest_tasks(datetime.fromtimestamp(self.now - 86400, self.tz)):
            longest.setdefault(f"{ti.get('dag_id')}.{ti.get('task_id')}", float(ti["duration"]))
        if not longest:
            panel.empty = "No task has finished in the last 24 hours."
            return panel
        panel.chart = charts.hbars(sorted(longest.items(), key=lambda item: -item[1])[:10], panel.title,
                                   seconds_text)
        return panel

    def canary(self) -> Panel:
        """Canary: its last success, and its runs per hour over the last 24 h."""
        panel = new_panel("canary")
        hour = int(self.now // 3600 * 3600)
        hours = [hour - (23 - i) * 3600 for i in range(24)]
        runs = self.airflow.runs(CANARY, datetime.fromtimestamp(hours[0], self.tz)) \
            if CANARY in self._successes() else []
        when = self._successes().get(CANARY)
        if not runs and when is None:
            panel.empty = f"The canary (DAG {CANARY}) has not run yet, or is paused."
            return panel
        if when is None:
            panel.lines.append(("bad", "The canary has never succeeded."))
        elif self.now - when > CANARY_LATE_SECONDS:
            panel.lines.append(("bad", f"Late: last success {ago(self.now - when)} "
                                       f"(expected every 5 min; alert after {CANARY_LATE_SECONDS // 60} min)."))
        else:
            panel.lines.append(("good", f"Healthy: last success {ago(self.now - when)}."))
        counts: dict[str, list[float]] = {}
        for run in runs:
            at = datetime.fromisoformat(run["run_after"]).timestamp()
            slot = int((at - hours[0]) // 3600)
            if 0 <= slot < 24:
                counts.setdefault(str(run.get("state")), [0.0] * 24)[slot] += 1
        if counts:
            labels = [datetime.fromtimestamp(t, self.tz).strftime("%H") if i % 3 == 0 else ""
                      for i, t in enumerate(hours)]
            panel.chart = charts.stacked_bars(labels, by_state(counts), "Canary runs per hour")
        return panel

    def deploys(self) -> Panel:
        """Deploys: the last ten and their results, from the deploy webhook."""
        panel = new_panel("deploys")
        status = self.read_deploys()
        records = [d for d in status.get("deploys") or [] if isinstance(d, dict)][:10]
        commit = status.get("deployed_commit") or ""
        panel.lines.append(("", f"Deployed commit: {commit[:12]}" if commit else "Nothing deployed yet."))
        if not records:
            panel.empty = "No deploy has been requested yet."
            return panel
        rows = []
        for d in records:
            started, finished = d.get("requested_at"), d.get("finished_at")
            when = datetime.fromtimestamp(finished or started, self.tz).strftime("%a %d %H:%M") \
                if (finished or started) else ""
            took = seconds_text(finished - started) if finished and started else ""
            rows.append([when, d.get("kind", "deploy"), (d.get("commit") or "")[:10], str(d.get("author") or ""),
                         str(d.get("state") or ""), took])
        panel.table = (["when", "kind", "commit", "author", "result", "took"], rows)
        return panel

    def queue(self) -> Panel:
        """Queue depth and worker slots: the executor's queued and running tasks, the broker's queue, and the
        Celery workers' open slots (WORKER_CONCURRENCY per worker online, minus the tasks they are executing)."""
        panel = new_panel("queue")
        open_slots = f"sum({WORKERS_ONLINE}) * {self.worker_concurrency} - sum({EXECUTING})"
        queries = {"queued in the executor": f"sum({QUEUED})", "waiting in the broker": f"sum({BROKER_QUEUE})",
                   "running": f"sum({RUNNING})", "open worker slots": open_slots}
        series = {}
        for name, query in queries.items():
            for _, points in self.prom.series(query, self.now - HOURS * 3600, self.now, 60):
                series[name] = points
        if not series:
            panel.empty = "No executor metrics yet (the scheduler sends them every few seconds once it runs)."
            return panel
        panel.chart = charts.lines(series, panel.title, self.tz, lambda v: f"{v:g}")
        if "open worker slots" in series:
            panel.lines.append(("", f"Open worker slots: {self.worker_concurrency} per Celery worker online "
                                    "(WORKER_CONCURRENCY) minus the tasks they are executing (Flower)."))
        return panel

    def memory(self) -> Panel:
        """Stack memory: the resident memory of each program of the stack that reports its own to Prometheus
        (Prometheus, Flower, the webhook, the exporters) and of the Redis server; the machine's used memory is
        said in a line, not drawn (it holds everything else on the machine too)."""
        panel = new_panel("memory")
        start, step = self.now - HOURS * 3600, 120
        series = {}
        for labels, points in self.prom.series(f"sum by (job) ({RESIDENT})", start, self.now, step):
            job = labels.get("job", "?")
            series[EXPORTERS.get(job, job)] = points
        for _, points in self.prom.series(f"sum({REDIS_USED})", start, self.now, step):
            series["redis server"] = points
        if not series:
            panel.empty = "No memory metrics yet."
            return panel
        panel.chart = charts.lines(dict(sorted(series.items())), panel.title, self.tz, megabytes)
        total = sum(points[-1][1] for points in series.values())
        machine = self.prom.instant(MACHINE_USED, at=self.now)
        panel.lines.append(("", f"Resident memory of the stack's programs that report it: {megabytes(total)} now. "
                                "Airflow's processes and PostgreSQL report none to Prometheus and are not drawn"
                                + (f"; the whole machine uses {megabytes(machine[0][1])} (not only this stack)."
                                   if machine else ".")))
        return panel

    def business(self) -> Panel:
        """Business metrics: what the DAGs report through dagutils.metrics (StatsD prefix airflow_business)."""
        panel = new_panel("business")
        rows = self.prom.instant(f'{{__name__=~"{BUSINESS}.+"}}', at=self.now)
        if not rows:
            panel.empty = "No business metric yet: DAGs send them with dagutils.metrics."
            return panel
        data = self.prom.series(f'{{__name__=~"{BUSINESS}.+"}}', self.now - 86400, self.now, 600)
        series = {_name(labels): points for labels, points in data}
        if series:
            panel.chart = charts.lines(dict(sorted(series.items())[:8]), panel.title, self.tz)
        panel.table = (["metric", "now"], sorted([_name(labels), charts.number(value)] for labels, value in rows))
        return panel


def by_state(counts: dict[str, list[float]]) -> dict[str, list[float]]:
    """Series in the states' usual order (success, failed, running, queued), others after them by name."""
    known = list(charts.STATE_COLOURS)
    return {s: counts[s] for s in sorted(counts, key=lambda s: (known.index(s) if s in known else len(known), s))}


def _name(labels: dict) -> str:
    name = labels.get("__name__", "?").removeprefix(BUSINESS)
    extra = ",".join(f"{k}={v}" for k, v in sorted(labels.items())
                     if not k.startswith("__") and k not in ("job", "instance"))
    return f"{name}{{{extra}}}" if extra else name
