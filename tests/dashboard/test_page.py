"""GET / over a real Prometheus holding a week of fixture metrics (history.py) and the real webhook's status."""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dashboard import create_app, panels, sources
from dashboard import page as page_module
from dashboard.airflow import Airflow
from stacktest.net import free_port
from tests.dashboard import fake_airflow, history
from tests.dashboard.conftest import DEPLOYS, settings

TZ = ZoneInfo("America/Chicago")
TITLES = list(panels.TITLES.values())


def sections(html: str) -> dict[str, str]:
    """Panel id -> its section's markup."""
    return dict(re.findall(r'<section class="panel" id="([\w-]+)">(.*?)</section>', html, re.S))


def text(markup: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)).strip()


@pytest.fixture
def page(client) -> dict[str, str]:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["Refresh"] == "60"
    assert "script" not in response.headers["Content-Security-Policy"]
    body = response.get_data(as_text=True)
    assert "<script" not in body and "http://" not in body.split("<main>")[0]  # nothing fetched from elsewhere
    return sections(body)


def test_every_panel_shows_a_series_under_its_title(page):
    assert list(page) == list(panels.TITLES)
    for panel_id, markup in page.items():
        assert f"<h2>{panels.TITLES[panel_id]}</h2>".replace("'", "&#39;") in markup
        assert 'class="series"' in markup, panel_id
        assert 'class="empty"' not in markup and 'class="error"' not in markup, text(markup)


def test_runs_per_day_counts_each_days_runs_by_state(page, now):
    shown = {(day, state): int(n) for day, n, state in
             re.findall(r"<title>([^<]+): (\d+) (success|failed|running|queued)</title>", page["runs-per-day"])}
    expected = history.runs_per_day(now, TZ)
    days = {day for day, _ in shown}
    assert len(days) == panels.DAYS
    assert {key: n for key, n in shown.items() if key[1] != "running"} == \
        {key: n for key, n in expected.items() if key[0] in days}
    assert shown[(f"{datetime.fromtimestamp(now, TZ):%a %d}", "running")] == 1  # orders_upsert's manual run


def test_time_since_last_success_lists_the_longest_first_and_dags_that_never_succeeded(page, now):
    rows = re.findall(r"<tr><td>([\w-]+)</td><td>([^<]+)</td></tr>", page["last-success"])
    assert rows[0] == ("broken_pipeline", "never")
    succeeded = sorted((history.last_success(now, dag.dag_id), dag.dag_id) for dag in history.DAGS
                       if not dag.only_failures)
    assert [dag for dag, _ in rows] == ["broken_pipeline", *(dag_id for _, dag_id in succeeded)]
    for dag_id in ("canary", "orders_upsert"):
        assert dict(rows)[dag_id] == f"{round((now - history.last_success(now, dag_id)) / 60)} min ago"


def test_the_canary_is_healthy_and_shows_its_runs_per_hour(page, now):
    minutes = round((now - history.last_success(now, "canary")) / 60)
    assert minutes < 15 and f'class="line good">Healthy: last success {minutes} min ago.' in page["canary"]
    hours = re.findall(r"<title>\d*: (\d+) (success|failed)</title>", page["canary"])
    # every 5 min, one in ten failing: 12 an hour, 10 or 11 of them green
    assert len([n for n, state in hours if state == "success" and int(n) in (10, 11)]) >= 22


def test_a_canary_without_a_success_for_15_minutes_is_late(airflow, prometheus, now):
    later = now + 20 * 60
    minutes = round((later - history.last_success(now, "canary")) / 60)
    viewer = Airflow(airflow.url, fake_airflow.USERNAME, fake_airflow.PASSWORD, 5)
    board = panels.Dashboard(viewer, sources.Prometheus(prometheus.url, 5), dict, TZ, later, 4)
    assert board.canary().lines == [
        ("bad", f"Late: last success {minutes} min ago (expected every 5 min; alert after 15 min).")]


def test_slowest_tasks_longest_first(page):
    assert re.findall(r"<title>([\w.]+)</title>", page["slowest-tasks"]) == [
        "event_loading.transform", "orders_upsert.load", "orders_upsert.extract", "canary.check_source"]
    assert "105.0 s" in page["slowest-tasks"]  # its longest run, not its usual 95 s


def test_deploys_from_the_webhook_newest_first_with_their_results(page):
    rows = re.findall(r"<tr>((?:<td>[^<]*</td>)+)</tr>", page["deploys"])
    cells = [re.findall(r"<td>([^<]*)</td>", row) for row in rows]
    assert [(c[1], c[2], c[3], c[4]) for c in cells] == [
        (d["kind"], d["commit"][:10], d["author"], d["state"]) for d in reversed(DEPLOYS)]
    assert all(c[5] == "20.0 s" for c in cells)


def test_queue_memory_and_business_metrics_are_drawn(page):
    for name in ("queued in the executor", "running", "open worker slots"):
        assert f">{name}</text>" in page["queue"]
    for name in ("prometheus", "statsd-exporter", "webhook", "redis server"):
        assert f">{name}</text>" in page["memory"]
    assert "rows_loaded{dag_id=orders_upsert}" in page["business"]
    assert "<polyline" in page["business"]


def test_open_worker_slots_are_the_workers_not_the_executors_parallelism(page, now):
    """Two workers of 4 slots (WORKER_CONCURRENCY) online, executing what runs: 8 - running, not 32 - running."""
    assert f"<title>open worker slots: {2 * 4 - history.running(now):g} now</title>" in page["queue"]
    assert "(WORKER_CONCURRENCY) minus the tasks they are executing (Flower)." in page["queue"]


def test_stack_memory_is_the_programs_not_the_machine(page):
    total = sum(history.MEMORY_MIB.values()) + history.REDIS_MIB
    assert "machine" not in re.sub(r'<p class="line[^"]*">.*?</p>', "", page["memory"])  # not drawn
    assert (f"Resident memory of the stack&#39;s programs that report it: {total} MiB now. Airflow&#39;s processes "
            "and PostgreSQL report none to Prometheus and are not drawn; the whole machine uses") in page["memory"]
    assert "<title>redis server: 12 MiB now</title>" in page["memory"]


def test_a_page_view_makes_few_airflow_calls_and_a_second_one_within_the_cache_none(airflow, prometheus, webhook,
                                                                                   now):
    """The fixture's week (eight DAGs, the canary every 5 min, one run in ten failing): a page of the week's
    runs per state, and one count a day for the states with more than a page (success, failed); the newest
    successes in one page, and one call for the DAG not on it. 26 calls where one per DAG and per day and state
    made 38; in a stack whose week fits in a page (the test stack), 9."""
    clock = [now]
    config = settings(prometheus.url, webhook.url, airflow.url)
    client = create_app(config, clock=lambda: clock[0]).test_client()

    def calls() -> int:
        before = len(airflow.seen)
        assert client.get("/").status_code == 200
        return len(airflow.seen) - before

    assert calls() <= 26
    clock[0] += page_module.CACHE_SECONDS - 1
    assert calls() == 0  # drawn 29 s ago: the same page
    clock[0] += 1
    assert calls() > 0


def test_an_unreachable_source_is_named_on_each_of_its_panels_and_the_others_still_show(make_client):
    dead = f"http://127.0.0.1:{free_port()}"
    for source, name, shown_by in [("prometheus_url", f"Prometheus at {dead}/prometheus", "Prometheus"),
                                   ("airflow_url", f"the Airflow API at {dead}", "Airflow"),
                                   ("webhook_url", f"the deploy webhook at {dead}/", "deploy webhook")]:
        url = f"{dead}/prometheus" if source == "prometheus_url" else dead
        page = sections(make_client(**{source: url}).get("/").get_data(as_text=True))
        for panel_id, markup in page.items():
            if panels.SOURCES.get(panel_id, "Prometheus") == shown_by:
                assert f'<p class="error">Cannot show this panel: {name} is unreachable (ConnectionError).</p>' \
                    in markup, panel_id
            else:
                assert 'class="error"' not in markup and 'class="series"' in markup, (source, panel_id)


def test_a_refused_airflow_login_is_named(make_client, airflow):
    config = settings(prometheus_url="http://127.0.0.1:1", webhook_url="http://127.0.0.1:1", airflow_url=airflow.url,
                      airflow_password="wrong")
    page = sections(create_app(config).test_client().get("/").get_data(as_text=True))
    assert (f"Cannot show this panel: the Airflow API at {airflow.url} refused the dashboard's login 'dashboard' "
            "(HTTP 401).") in html.unescape(page["runs-per-day"])


def test_with_no_data_yet_each_prometheus_panel_says_so(make_client, empty_prometheus):
    page = sections(make_client(prometheus_url=empty_prometheus.url).get("/").get_data(as_text=True))
    for panel_id in ("queue", "memory", "business"):
        assert '<p class="empty">' in page[panel_id], panel_id
        assert "<svg" not in page[panel_id] and "<table" not in page[panel_id]
    assert "No business metric yet: DAGs send them with dagutils.metrics." in page["business"]
