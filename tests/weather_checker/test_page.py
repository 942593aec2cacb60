"""The page: latest run, checks in green/amber/red, history, version footer; every value escaped."""

from __future__ import annotations

from html.parser import HTMLParser

from weather_checker import page

from tests.weather_checker.samples import record

HOSTILE = '<script>alert("x")</script>'


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside elements with an id."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text_by_id: dict[str, str] = {}
        self._ids: list[str | None] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag not in ("img", "meta", "link", "br"):
            self._ids.append(attributes.get("id"))
            if attributes.get("id"):
                self.text_by_id.setdefault(attributes["id"], "")

    def handle_endtag(self, tag):
        if tag not in ("img", "meta", "link", "br") and self._ids:
            self._ids.pop()

    def handle_data(self, data):
        for element_id in filter(None, self._ids):
            self.text_by_id[element_id] += data

    def find(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]


def history(n: int = 3) -> list[dict]:
    return [{"run_id": f"run-{i}", "finished_at": "2026-10-20T18:05:09+00:00", "local_time": f"t{i}",
             "failed": ["redis"] if i == 1 else [], "forecast_short": "Sunny", "image": f"images/run-{i}.jpg"}
            for i in range(n)]


def test_latest_run_shows_forecast_secret_image_time_and_footer():
    html = page.render(record(), history(), "development demonstration value")
    doc = Elements(html)
    forecast = "This Afternoon (84°F): A slight chance of showers and thunderstorms."
    assert doc.text_by_id["forecast"] == forecast
    assert doc.text_by_id["secret"] == "development demonstration secret: development demonstration value"
    assert doc.find("img") == [{"src": "images/run-1.jpg", "alt": "Camera 533: 38th & Duval", "width": "640",
                                "height": "480"}]
    assert "10/20/2026 13:05:09 CDT" in doc.text_by_id["ran"] and "(America/Chicago)" in doc.text_by_id["ran"]
    assert doc.text_by_id["version"] == ("stack version 0.1.0 · deployed commit 0123456789ab · "
                                         "Airflow 3.3.2 · environment development · page written on worker-1")
    assert doc.text_by_id["verdict"] == "all 5 checks passed"


def test_checks_are_green_amber_and_red_by_status():
    checks = [*record()["checks"][:3], {"name": "redis", "status": "fail", "detail": "unreachable"}]
    doc = Elements(page.render(record(checks=checks), [], None))
    rows = {attrs.get("class") for attrs in doc.find("tr")} - {None}
    assert rows == {"pass", "fail"}
    html = page.render(record(checks=checks), [], None)
    assert ('<tr class="fail"><th scope="row">redis</th><td class="status">FAIL</td>'
            "<td>unreachable</td>") in html
    assert '<tr class="pass"><th scope="row">forecast</th><td class="status">PASS</td>' in html
    assert '<tr class="warn"' in page.render(record(), [], None)


def test_a_failed_run_is_red_from_the_title_down():
    checks = [{"name": "forecast", "status": "fail", "detail": "NWS point answered 503 (after retries)"},
              *record()["checks"][1:]]
    html = page.render(record(checks=checks, forecast=None), [], "v")
    doc = Elements(html)
    assert doc.text_by_id["verdict"] == "1 of 5 checks failed: forecast"
    assert doc.find("body") == [{"class": "fail"}]
    assert "<title>FAILED · Weather checker · development</title>" in html
    assert doc.text_by_id["forecast"] == "No forecast this run (see the forecast check)."
    # The rest of the page is still there.
    assert doc.find("img") and doc.text_by_id["secret"].endswith(": v")


def test_missing_image_and_secret_are_said_not_hidden():
    doc = Elements(page.render(record(camera={"camera_id": "533", "label": "x", "image": None}), [], None))
    assert doc.find("img") == []
    assert doc.text_by_id["camera"] == "No camera image this run (see the camera check)."
    assert doc.text_by_id["secret"] == "development demonstration secret: unavailable (see the secret check)"


def test_offline_camera_is_flagged_under_the_image():
    camera = {**record()["camera"], "offline": "image is almost one flat colour"}
    html = page.render(record(camera=camera), [], None)
    assert '<p class="offline">Camera looks offline: image is almost one flat colour</p>' in html


def test_every_value_is_escaped():
    checks = [{"name": HOSTILE, "status": "fail", "detail": HOSTILE}]
    forecast = {"period": HOSTILE, "text": HOSTILE, "short": "", "temperature": "", "place": "", "grid": ""}
    camera = {"camera_id": '" onerror="alert(1)', "label": HOSTILE, "image": 'x.jpg" onerror="alert(1)',
              "width": 1, "height": 1}
    html = page.render(record(checks=checks, forecast=forecast, camera=camera, run_id=HOSTILE,
                              stack_version=HOSTILE, host=HOSTILE), [{"run_id": HOSTILE, "image": HOSTILE}],
                       HOSTILE)
    doc = Elements(html)
    assert doc.find("script") == []
    assert all("onerror" not in attrs for _, attrs in doc.tags)
    assert doc.find("img")[0]["src"] == 'x.jpg" onerror="alert(1)'
    assert doc.text_by_id["secret"].endswith(HOSTILE)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_the_age_is_left_to_the_server_as_an_empty_slot_with_the_iso_time():
    html = page.render(record(), [], None)
    [span] = [attrs for tag, attrs in Elements(html).tags if attrs.get("id") == "age"]
    assert span == {"id": "age", "data-finished": "2026-10-20T18:05:09+00:00"}
    assert '<span id="age" data-finished="2026-10-20T18:05:09+00:00"></span>' in html
    assert " ago" not in html and "<script" not in html


def test_history_lists_each_run_with_its_result():
    html = page.render(record(), history(3), None)
    doc = Elements(html)
    table_rows = [attrs for attrs in doc.find("tr") if attrs.get("class")]
    assert [r["class"] for r in table_rows[-3:]] == ["pass", "fail", "pass"]
    assert "<h2>Last 3 runs</h2>" in html
    assert '<td class="status">FAIL</td><td>redis</td>' in html
    assert '<a href="images/run-2.jpg">image</a>' in html
