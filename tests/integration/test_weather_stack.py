"""weather-checker in the native stack, driven through HAProxy: green run, NWS 503 run, and a real browser.

Needs the stack to run the NWS/camera fixture server (devtools.fixture_server) and point NWS_BASE_URL and
CAMERA_URL_PATTERN at it; the `fixture_server` fixture below finds it from the stack's settings.
"""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from PIL import Image

pytestmark = pytest.mark.integration

DAG_ID = "weather-checker"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMEDRIVER = "/usr/bin/chromedriver"


class FixtureClient:
    """The control API of the stack's fixture server (scenarios and request counts)."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def set(self, **scenario: str) -> dict:
        response = requests.put(f"{self.base_url}/_fixture/scenario", json=scenario, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        return requests.get(f"{self.base_url}/_fixture/requests", timeout=10).json()


@pytest.fixture(scope="session")
def fixture_server(native_stack) -> FixtureClient:
    """The fixture server the stack's workers use for NWS and the camera, reset to 'all good' around use."""
    settings = {**native_stack.settings, **native_stack.env}
    base = settings.get("NWS_BASE_URL") or (
        f"http://127.0.0.1:{settings['FIXTURE_SERVER_PORT']}" if settings.get("FIXTURE_SERVER_PORT") else "")
    if not base.startswith("http://127.0.0.1"):
        pytest.skip(f"the native stack does not use the local fixture server (NWS_BASE_URL={base!r})")
    client = FixtureClient(base)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.set(nws="ok", camera="ok")
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    yield client
    client.set(nws="ok", camera="ok")


def slack_messages(native_stack) -> list[dict]:
    port = native_stack.settings["FAKE_SLACK_PORT"]
    return requests.get(f"http://127.0.0.1:{port}/messages", timeout=10).json()


def page_url(native_stack, path: str = "/") -> str:
    return native_stack.url("diagnostics") + path


def latest(native_stack) -> dict:
    response = requests.get(page_url(native_stack, "/latest.json"), timeout=10)
    response.raise_for_status()
    return response.json()


def run_weather(native_stack, timeout: float = 180) -> tuple[str, str]:
    run_id = native_stack.trigger_dag(DAG_ID)
    return run_id, native_stack.wait_run(DAG_ID, run_id, timeout=timeout)


@pytest.fixture(scope="module")
def green_run(native_stack, fixture_server) -> dict:
    """One successful run; its record as published on the page."""
    fixture_server.set(nws="ok", camera="ok")
    started = time.monotonic()
    run_id, state = run_weather(native_stack)
    record = latest(native_stack)
    return {"run_id": run_id, "state": state, "record": record, "seconds": time.monotonic() - started}


def test_green_run_publishes_a_fresh_page_with_every_check_passing(native_stack, fixture_server, green_run):
    record = green_run["record"]
    assert green_run["state"] == "success", record.get("checks")
    assert record["run_id"] == green_run["run_id"]
    finished = datetime.fromisoformat(record["finished_at"])
    assert (datetime.now(UTC) - finished).total_seconds() < 120
    problems = [c for c in record["checks"] if c["status"] == "fail"]
    assert problems == []
    names = [c["name"] for c in record["checks"]]
    assert names == ["forecast", "camera", "secret", "metadata database", "scheduler", "dag-processor",
                     "triggerer", "celery workers", "redis", "webhook", "haproxy", "relay"]
    workers = next(c for c in record["checks"] if c["name"] == "celery workers")
    assert "this task ran on celery@" in workers["detail"]

    page = requests.get(page_url(native_stack), timeout=10)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert page.headers["Refresh"] == "60"
    assert '<span id="age" class="age fresh">ran ' in page.text
    assert "development demonstration secret: <code>" in page.text
    assert record["forecast"]["text"] in page.text

    image = requests.get(page_url(native_stack, "/" + record["camera"]["image"]), timeout=10)
    assert image.status_code == 200 and "immutable" in image.headers["Cache-Control"]
    with Image.open(io.BytesIO(image.content)) as picture:
        assert picture.format == "JPEG"
        assert picture.size == (record["camera"]["width"], record["camera"]["height"])
    agents = fixture_server.stats()["user_agents"]
    assert agents and all(agent.startswith("gitops-airflow-weather-checker/") for agent in agents)


@pytest.mark.browser
def test_browser_shows_the_image_and_the_text(native_stack, green_run):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get(page_url(native_stack))
        image = driver.find_element(By.CSS_SELECTOR, "#camera img")
        WebDriverWait(driver, 20).until(
            lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image))
        assert driver.execute_script("return arguments[0].naturalWidth", image) > 0
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "ATX Weather Report" in body
        assert green_run["record"]["forecast"]["period"] in body
        assert "stack version" in driver.find_element(By.ID, "version").text
        # the server filled the age in (the page runs no script); the page asks to be fetched again each minute
        age = driver.find_element(By.ID, "age")
        assert age.text.startswith("ran ") and age.text.endswith(" ago") and age.get_attribute("class") == "age fresh"
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "weather-page.png"))
    finally:
        driver.quit()
    with Image.open(ARTIFACTS / "weather-page.png") as shot:
        assert shot.size[0] >= 1000


def test_nws_503_fails_after_retries_alerts_once_and_the_page_shows_it(native_stack, fixture_server,
                                                                       green_run):
    before = len(slack_messages(native_stack))
    fixture_server.set(nws="503")
    try:
        run_id, state = run_weather(native_stack, timeout=300)
    finally:
        fixture_server.set(nws="ok")
    assert state == "failed"
    tasks = {t["task_id"]: t for t in native_stack.task_instances(DAG_ID, run_id)}
    assert tasks["fetch_forecast"]["state"] == "failed"
    assert tasks["fetch_forecast"]["try_number"] == 3  # two retries before giving up
    assert tasks["publish_page"]["state"] == "success"
    assert tasks["verdict"]["state"] == "failed"

    deadline = time.monotonic() + 30
    while len(slack_messages(native_stack)) == before and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # a second (unwanted) message would arrive within this
    new = slack_messages(native_stack)[before:]
    assert len(new) == 1, json.dumps(new, indent=1)
    assert "fetch_forecast" in json.dumps(new[0])

    record = latest(native_stack)
    assert record["run_id"] == run_id and record["failed"] == ["forecast"]
    page = requests.get(page_url(native_stack), timeout=10).text
    assert '<tr class="fail"><th scope="row">forecast</th>' in page
    assert "answered 503" in page
    assert "<img" in page and "development demonstration secret: <code>" in page
