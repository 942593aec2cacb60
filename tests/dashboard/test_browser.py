"""The dashboard in the session's native stack (the `monitoring` profile on), read as an operator would: through
HAProxy's monitoring port with the operators' login, in headless Chromium, after real DAG runs. The screenshot
is saved as test-artifacts/dashboard.png."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from dashboard.panels import TITLES

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMEDRIVER = "/usr/bin/chromedriver"
# DAGs run for the page: a plain one, one that reports business metrics, and the canary
RUNS = ("stack-smoke", "orders_upsert", "canary")
# panels whose series come from Prometheus, a scrape (15 s) and a collectd flush (10 s) after the runs
SCRAPED = ("queue", "memory", "business")


def panels(html: str) -> dict[str, str]:
    return dict(re.findall(r'<section class="panel" id="([\w-]+)">(.*?)</section>', html, re.S))


@pytest.fixture(scope="module")
def runs(native_stack) -> dict[str, str]:
    """Each DAG of RUNS run once (then paused again: the canary would otherwise run every 5 minutes)."""
    states = {}
    for dag_id in RUNS:
        run_id = native_stack.trigger_dag(dag_id)
        states[dag_id] = native_stack.wait_run(dag_id, run_id, timeout=300)
        native_stack.api("PATCH", f"/dags/{dag_id}", json={"is_paused": True}).raise_for_status()
    return states


@pytest.fixture(scope="module")
def page(native_stack, runs) -> dict[str, str]:
    """The page through HAProxy once Prometheus has what the scraped panels show (at most 3 minutes)."""
    url = native_stack.url("monitoring") + "/"
    deadline = time.monotonic() + 180
    while True:
        reply = requests.get(url, auth=native_stack.flower_auth, timeout=60)
        assert reply.status_code == 200, reply.text[:500]
        found = panels(reply.text)
        if all('class="series"' in found[name] for name in SCRAPED) or time.monotonic() > deadline:
            return found
        time.sleep(5)


def test_the_dashboard_asks_for_the_operators_login(native_stack):
    url = native_stack.url("monitoring") + "/"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, auth=(native_stack.flower_auth[0], "wrong"), timeout=10).status_code == 401


def test_every_panel_shows_data_from_the_stack(runs, page):
    assert runs["stack-smoke"] == "success"
    assert list(page) == list(TITLES)
    wrong = {name: " ".join(re.sub(r"<[^>]+>", " ", markup).split()) for name, markup in page.items()
             if 'class="error"' in markup or (name != "deploys" and 'class="series"' not in markup)}
    assert wrong == {}
    # the runs of this session, by name
    assert re.search(r"<td>stack-smoke</td><td>\d+ (s|min) ago</td>", page["last-success"])
    assert ("Healthy: last success" if runs["canary"] == "success" else "never succeeded") in page["canary"]
    assert "dag_id=orders_upsert" in page["business"]  # what its run reported through dagutils.metrics
    # natively the DAGs come from the working tree: the webhook deploys nothing, and says so
    assert 'class="series"' in page["deploys"] or "No deploy has been requested yet." in page["deploys"]


@pytest.mark.browser
def test_chromium_shows_every_panel_with_its_series(native_stack, page):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1300,1900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    login = base64.b64encode(":".join(native_stack.flower_auth).encode()).decode()
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {login}"}})
        driver.get(native_stack.url("monitoring") + "/")
        headings = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "section.panel h2")]
        assert headings == list(TITLES.values())
        for name in ("runs-per-day", "last-success", "slowest-tasks", "canary", *SCRAPED):
            section = driver.find_element(By.ID, name)
            assert section.find_elements(By.CSS_SELECTOR, ".series"), name
            assert not section.find_elements(By.CSS_SELECTOR, ".error"), section.text
            drawn = section.find_elements(By.CSS_SELECTOR, ".series rect, .series circle, .series td")
            assert drawn and any(d.size["width"] > 0 and d.size["height"] > 0 for d in drawn), name
        # the stylesheet came through HAProxy too: panels sit in a grid, not one under the other
        first, second = driver.find_element(By.ID, "runs-per-day"), driver.find_element(By.ID, "last-success")
        assert first.location["y"] == second.location["y"] and second.location["x"] > first.location["x"]
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    finally:
        driver.quit()
    with Image.open(ARTIFACTS / "dashboard.png") as shot:
        assert shot.size[0] >= 1200
