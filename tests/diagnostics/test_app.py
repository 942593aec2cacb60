"""The diagnostics app: the page with its age filled per request, run images cached, nothing else exposed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from weather_checker import page

from diagnostics import age


def page_finished(finished: datetime | str) -> str:
    """A real page from the DAG's renderer, finished at `finished`."""
    when = finished if isinstance(finished, str) else finished.isoformat()
    record = {"run_id": "manual__1", "environment": "development", "finished_at": when, "local_time": "then",
              "timezone": "America/Chicago", "forecast": None, "camera": None, "checks": [], "failed": []}
    return page.render(record, [], None)


def test_placeholder_before_the_first_run(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No weather-checker run has published a page yet" in response.text
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Refresh"] == "60", "the browser looks again for the first run's page"


def test_the_age_is_filled_per_request_fresh_then_stale(client, folder):
    (folder / "index.html").write_text(page_finished(datetime.now(UTC) - timedelta(minutes=3)))
    body = client.get("/").text
    assert '<span id="age" class="age fresh">ran 3 min ago</span>' in body
    assert "data-finished" not in body

    (folder / "index.html").write_text(page_finished(datetime.now(UTC) - timedelta(minutes=25)))
    response = client.get("/index.html")
    assert '<span id="age" class="age stale">ran 25 min ago (stale: older than 10 min)</span>' in response.text
    assert (response.headers["Cache-Control"], response.headers["Refresh"]) == ("no-store", "60")


def test_an_unreadable_time_is_shown_stale(client, folder):
    (folder / "index.html").write_text(page_finished("yesterday"))
    assert '<span id="age" class="age stale">ran at an unreadable time yesterday</span>' in client.get("/").text


@pytest.mark.parametrize(("seconds", "text"), [(-3, "0 s ago"), (89, "89 s ago"), (90, "2 min ago"),
                                               (5399, "90 min ago"), (5400, "2 h ago")])
def test_age_words(seconds, text):
    assert age.words(seconds) == text


def test_a_page_without_a_slot_is_served_as_written():
    assert age.fill("<p>hello</p>") == "<p>hello</p>"
    assert age.fill('<span id="age" data-finished="x">') == '<span id="age" data-finished="x">'


def test_files_are_served_with_cache_and_security_headers(client, folder):
    (folder / "images").mkdir()
    (folder / "images" / "run-1.jpg").write_bytes(b"\xff\xd8jpeg")
    (folder / "latest.json").write_text("{}")
    (folder / "page.css").write_text("body {}")
    image = client.get("/images/run-1.jpg")
    assert image.status_code == 200 and image.data == b"\xff\xd8jpeg"
    assert image.headers["Content-Type"] == "image/jpeg"
    assert image.headers["Cache-Control"] == "public, max-age=86400, immutable"
    record = client.get("/latest.json")
    assert record.headers["Content-Type"] == "application/json"
    assert record.headers["Cache-Control"] == "no-cache"
    assert record.headers["X-Content-Type-Options"] == "nosniff"
    policy = record.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script" not in policy, "the page runs no script at all"
    assert client.get("/page.css").headers["Content-Type"] == "text/css; charset=utf-8"


def test_unchanged_files_answer_304(client, folder):
    (folder / "latest.json").write_text("{}")
    first = client.get("/latest.json")
    again = client.get("/latest.json", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/images/", "/images", "/.lock", "/images/.run.jpg.tmp", "/../etc/passwd",
                                  "/%2e%2e/%2e%2e/etc/passwd", "/images/%2e%2e/%2e%2e/etc/passwd",
                                  "/missing.json"])
def test_no_listing_no_hidden_files_no_escape(client, folder, path):
    (folder / "images").mkdir()
    (folder / "images" / ".run.jpg.tmp").write_bytes(b"partial")
    (folder / ".lock").write_text("")
    response = client.get(path)
    assert response.status_code == 404
    assert b"root:" not in response.data and b"partial" not in response.data


def test_head_and_other_methods(client):
    head = client.head("/")
    assert head.status_code == 200 and head.data == b""
    assert client.post("/").status_code == 405
    assert client.put("/latest.json").status_code == 405


def test_a_request_cannot_write_its_own_log_lines(client, caplog):
    caplog.set_level("INFO", logger="diagnostics")
    assert client.get("/x%0a2026-01-01 diagnostics request method=GET path=/admin status=200").status_code == 404
    assert client.get("/%00").status_code == 400
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2 and not any("\n" in line or "\x00" in line for line in lines)
    assert "path=/x\\n2026-01-01" in lines[0]


def test_health_checks_are_not_logged_but_people_are(client, caplog):
    caplog.set_level("INFO", logger="diagnostics")
    size = len(client.get("/", headers={"User-Agent": ""}).data)
    assert caplog.records == []
    client.get("/", headers={"User-Agent": "Mozilla/5.0"})
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"request method=GET path=/ status=200 bytes={size} client=")
