"""The dashboard's panels: each one asks its source, and becomes a chart, a table, a sentence saying there is no
data yet, or an error line naming the source it could not read.

Where each panel reads, and why:
- Prometheus (Airflow's StatsD metrics through statsd-exporter, the exporters, Alertmanager's ALERTS): DAG runs
  per day, last successes, slowest tasks, the canary, queue and slots, memory, business metrics. It keeps the
  history the charts need and asks for no Airflow login (the dashboard holds none: reading Airflow's REST API
  would need an account of its own, and its database the admin's).
- The deploy webhook's status (public JSON): deploys and their results. Prometheus only counts deploys by
  result; the list (commit, author, when, why) exists only in the webhook's history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup

from dashboard import charts
from dashboard.sources import Prometheus, SourceError

# Metric names (statsd-exporter's mapping of Airflow's StatsD names: monitoring/statsd/; documentation/monitoring.md)
RUNS = "airflow_dagrun_duration_seconds_count"  # dagrun.duration.<state>.<dag_id>: labels dag_id, state
TASK_SECONDS = "airflow_task_duration_seconds"  # dag.<dag_id>.<task_id>.duration: labels dag_id, task_id
QUEUED, RUNNING, OPEN_SLOTS = ("airflow_executor_queued_tasks", "airflow_executor_running_tasks",
                               "airflow_executor_open_slots")
BROKER_QUEUE = "redis_key_size"  # Celery's queues in Redis (redis-exporter --check-single-keys): labels key
BUSINESS = "airflow_business_"  # dagutils.metrics: the StatsD prefix airflow_business
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
    "slowest-tasks": "Slowest tasks (mean duration, last 24 h)",
    "canary": "Canary",
    "deploys": "Deploys and their results",
    "queue": f"Queue depth and worker slots (last {HOURS} h)",
    "memory": f"Stack memory (last {HOURS} h)",
    "business": "Business metrics (last 24 h)",
}


def new_panel(panel_id: str, **fields) -> Panel:
    return Panel(panel_id, TITLES[panel_id], "deploy webhook" if panel_id == "deploys" else "Prometheus", **fields)


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

    def __init__(self, prometheus: Prometheus, read_deploys: Callable[[], dict], tz: ZoneInfo,
                 now: float | None = None):
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
        """DAG runs per day by state: finished runs per calendar day (team time zone), from Airflow's StatsD."""
        panel = new_panel("runs-per-day")
        today = datetime.fromtimestamp(self.now, self.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
        counts: dict[str, list[float]] = {}
        for i, day in enumerate(days):
            end = min((day + timedelta(days=1)).timestamp(), self.now)
            window = int(end - day.timestamp())
            if window < 60:
                continue
            for labels, value in self.prom.instant(f"sum by (state) (increase({RUNS}[{window}s]))", at=end):
                counts.setdefault(labels.get("state", "?"), [0.0] * DAYS)[i] = float(round(value))
        if not any(any(values) for values in counts.values()):
            panel.empty = f"No DAG run has finished in the last {DAYS} days (or none since Prometheus started)."
            return panel
        panel.chart = charts.stacked_bars([f"{d:%a %d}" for d in days], by_state(counts), panel.title)
        return panel

    def _successes(self) -> dict[str, float | None]:
        """dag_id -> unix time of its last successful run in the last DAYS days (None: none in that time)."""
        if self._last_success is None:
            ok = f'{RUNS}{{state="success"}}'
            seen = self.prom.instant(f"group by (dag_id) ({RUNS})", at=self.now)
            # the minute in which the success counter last rose (or appeared): windows one step long, so
            # only the step right after the rise sees it
            last = self.prom.instant(f"max by (dag_id) (max_over_time(timestamp((changes({ok}[1m]) > 0) or "
                                     f"({ok} unless {ok} offset 1m))[{DAYS}d:1m]))", at=self.now)
            self._last_success = {labels.get("dag_id", "?"): None for labels, _ in seen}
            self._last_success.update({labels.get("dag_id", "?"): value for labels, value in last})
        return self._last_success

    def last_success(self) -> Panel:
        """Time since each DAG's last success: longest first."""
        panel = new_panel("last-success")
        found = self._successes()
        if not found:
            panel.empty = "No DAG has run yet (or none since Prometheus started)."
            return panel
        rows = sorted(found.items(), key=lambda item: (item[1] is not None, item[1] or 0, item[0]))
        panel.table = (["DAG", "last success"], [
            [dag_id, ago(self.now - when) if when else f"none in {DAYS} days"] for dag_id, when in rows])
        return panel

    def slowest_tasks(self) -> Panel:
        """Slowest tasks: mean duration over the last 24 h, the ten longest."""
        panel = new_panel("slowest-tasks")
        rows = self.prom.instant(f"topk(10, sum by (dag_id, task_id) (increase({TASK_SECONDS}_sum[1d])) / "
                                 f"sum by (dag_id, task_id) (increase({TASK_SECONDS}_count[1d])))", at=self.now)
        rows = sorted(rows, key=lambda row: -row[1])
        if not rows:
            panel.empty = "No task has finished in the last 24 hours."
            return panel
        panel.chart = charts.hbars([(f"{r.get('dag_id', '?')}.{r.get('task_id', '?')}", v) for r, v in rows],
                                   panel.title, seconds_text)
        return panel

    def canary(self) -> Panel:
        """Canary: its last success, and its runs per hour over the last 24 h."""
        panel = new_panel("canary")
        when = self._successes().get(CANARY)
        hour = int(self.now // 3600 * 3600)
        data = self.prom.series(f'sum by (state) (increase({RUNS}{{dag_id="{CANARY}"}}[1h]))',
                                hour - 23 * 3600, hour, 3600)
        if when is None and not data:
            panel.empty = f"The canary (DAG {CANARY}) has not run yet, or is paused."
            return panel
        if when is None:
            panel.lines.append(("bad", f"No success of the canary in the last {DAYS} days."))
        elif self.now - when > CANARY_LATE_SECONDS:
            panel.lines.append(("bad", f"Late: last success {ago(self.now - when)} "
                                       f"(expected every 5 min; alert after {CANARY_LATE_SECONDS // 60} min)."))
        else:
            panel.lines.append(("good", f"Healthy: last success {ago(self.now - when)}."))
        hours = [hour - (23 - i) * 3600 for i in range(24)]
        counts = {labels.get("state", "?"): [0.0] * 24 for labels, _ in data}
        for labels, points in data:
            for t, v in points:
                if int(t) in hours:
                    counts[labels.get("state", "?")][hours.index(int(t))] = float(round(v))
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
        """Queue depth and worker slots: the executor's queued and running tasks and open slots, the broker's queue."""
        panel = new_panel("queue")
        names = {QUEUED: "queued in the executor", BROKER_QUEUE: "waiting in the broker", RUNNING: "running",
                 OPEN_SLOTS: "open slots"}
        series = {}
        for metric, name in names.items():
            for _, points in self.prom.series(f"sum({metric})", self.now - HOURS * 3600, self.now, 60):
                series[name] = points
        if not series:
            panel.empty = "No executor metrics yet (the scheduler sends them every few seconds once it runs)."
            return panel
        panel.chart = charts.lines(series, panel.title, self.tz, lambda v: f"{v:g}")
        return panel

    def memory(self) -> Panel:
        """Stack memory: the machine's used memory and each scraped program's resident memory."""
        panel = new_panel("memory")
        start, step = self.now - HOURS * 3600, 120
        series = {}
        for _, points in self.prom.series("sum(node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes)",
                                          start, self.now, step):
            series["machine, used"] = points
        for labels, points in self.prom.series("sum by (job) (process_resident_memory_bytes)", start, self.now,
                                               step):
            series[labels.get("job", "?")] = points
        if not series:
            panel.empty = "No memory metrics yet."
            return panel
        panel.chart = charts.lines(series, panel.title, self.tz, megabytes)
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
                     if k not in ("__name__", "job", "instance"))
    return f"{name}{{{extra}}}" if extra else name
