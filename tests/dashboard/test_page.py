"""GET / over a real Prometheus holding a week of fixture metrics (history.py) and the real webhook's status."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard import panels, sources
from stacktest.net import free_port
from tests.dashboard import history
from tests.dashboard.conftest import DEPLOYS

TZ = ZoneInfo("America/Chicago")
TITLES = list(panels.TITLES.values())
PROMETHEUS_PANELS = [panel_id for panel_id in panels.TITLES if panel_id != "deploys"]


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
    html = response.get_data(as_text=True)
    assert "<script" not in html and "http://" not in html.split("<main>")[0]  # nothing fetched from elsewhere
    return sections(html)


def test_every_panel_shows_a_series_under_its_title(page):
    assert list(page) == list(panels.TITLES)
    for panel_id, markup in page.items():
        assert f"<h2>{panels.TITLES[panel_id]}</h2>".replace("'", "&#39;") in markup
        assert 'class="series"' in markup, panel_id
        assert 'class="empty"' not in markup and 'class="error"' not in markup, text(markup)


def test_runs_per_day_counts_each_days_finished_runs_by_state(page, now):
    bars = dict(re.findall(r"<title>([^<]+): (\d+) (success|failed)</title>", page["runs-per-day"])
                and [((day, state), int(n)) for day, n, state in
                     re.findall(r"<title>([^<]+): (\d+) (success|failed)</title>", page["runs-per-day"])])
    midnight = datetime.fromtimestamp(now, TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    runs = [run for done in history.finished(now).values() for run in done]
    for back in (1, 3, 6):  # whole days: each one's count from the fixture's own rules
        start = midnight - timedelta(days=back)
        end = start + timedelta(days=1)
        for state in ("success", "failed"):
            expected = sum(1 for t, s in runs if s == state and start.timestamp() < t <= end.timestamp())
            shown = bars[(f"{start:%a %d}", state)]
            # increase() extrapolates to the day's edges from samples a minute apart: at most one run off
            assert abs(shown - expected) <= 1, (start, state, shown, expected)
    assert bars[(f"{midnight - timedelta(days=1):%a %d}", "success")] > 200


def test_time_since_last_success_lists_the_longest_first_and_dags_with_none(page, now):
    rows = re.findall(r"<tr><td>([\w-]+)</td><td>([^<]+)</td></tr>", page["last-success"])
    assert rows[0] == ("broken_pipeline", f"none in {panels.DAYS} days")
    assert [dag for dag, _ in rows] == ["broken_pipeline", "event_loading", "orders_upsert", "canary"]
    for dag_id in ("canary", "orders_upsert"):
        assert dict(rows)[dag_id] == f"{round((now - history.last_success(now, dag_id)) / 60)} min ago"


def test_the_canary_is_healthy_and_shows_its_runs_per_hour(page, now):
    minutes = round((now - history.last_success(now, "canary")) / 60)
    assert minutes < 15 and f'class="line good">Healthy: last success {minutes} min ago.' in page["canary"]
    hours = re.findall(r"<title>\d*: (\d+) (success|failed)</title>", page["canary"])
    # every 5 min, one in ten failing: 12 an hour, 10 or 11 of them green
    assert len([n for n, state in hours if state == "success" and int(n) in (10, 11)]) >= 22


def test_a_canary_without_a_success_for_15_minutes_is_late(prometheus, now):
    later = now + 20 * 60
    minutes = round((later - history.last_success(now, "canary")) / 60)
    board = panels.Dashboard(sources.Prometheus(prometheus.url, 5), dict, TZ, later)
    canary = board.canary()
    assert canary.lines == [
        ("bad", f"Late: last success {minutes} min ago (expected every 5 min; alert after 15 min).")]


def test_slowest_tasks_longest_first(page):
    assert re.findall(r"<title>([\w.]+)</title>", page["slowest-tasks"]) == [
        "event_loading.transform", "orders_upsert.load", "orders_upsert.extract", "canary.check_source"]
    assert "95.0 s" in page["slowest-tasks"]


def test_deploys_from_the_webhook_newest_first_with_their_results(page):
    rows = re.findall(r"<tr>((?:<td>[^<]*</td>)+)</tr>", page["deploys"])
    cells = [re.findall(r"<td>([^<]*)</td>", row) for row in rows]
    assert [(c[1], c[2], c[3], c[4]) for c in cells] == [
        (d["kind"], d["commit"][:10], d["author"], d["state"]) for d in reversed(DEPLOYS)]
    assert all(c[5] == "20.0 s" for c in cells)


def test_queue_memory_and_business_metrics_are_drawn(page):
    for name in ("queued in the executor", "running", "open slots"):
        assert f">{name}</text>" in page["queue"]
    for name in ("machine, used", "prometheus", "webhook"):
        assert f">{name}</text>" in page["memory"]
    assert "rows_loaded{dag_id=orders_upsert}" in page["business"]
    assert "<polyline" in page["business"]


def test_an_unreachable_prometheus_is_named_on_each_of_its_panels(make_client, webhook):
    url = f"http://127.0.0.1:{free_port()}/prometheus"
    page = sections(make_client(url, webhook.url).get("/").get_data(as_text=True))
    for panel_id in PROMETHEUS_PANELS:
        assert f'<p class="error">Cannot show this panel: Prometheus at {url} is unreachable (ConnectionError).</p>' \
            in page[panel_id]
    assert 'class="error"' not in page["deploys"] and "bbbbbbbbbb" in page["deploys"]


def test_an_unreachable_webhook_is_named_on_the_deploys_panel(make_client, prometheus):
    url = f"http://127.0.0.1:{free_port()}"
    page = sections(make_client(prometheus.url, url).get("/").get_data(as_text=True))
    assert f"Cannot show this panel: the deploy webhook at {url}/ is unreachable (ConnectionError)." \
        in page["deploys"]
    assert all('class="error"' not in page[panel_id] for panel_id in PROMETHEUS_PANELS)


def test_with_no_data_yet_each_panel_says_so(make_client, empty_prometheus, webhook):
    page = sections(make_client(empty_prometheus.url, webhook.url).get("/").get_data(as_text=True))
    for panel_id in PROMETHEUS_PANELS:
        assert '<p class="empty">' in page[panel_id], panel_id
        assert "<svg" not in page[panel_id] and "<table" not in page[panel_id]
    assert "No DAG run has finished in the last 7 days" in page["runs-per-day"]
    assert "The canary (DAG canary) has not run yet, or is paused." in page["canary"]
