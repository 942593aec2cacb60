"""Camera snapshot: only a whole image passes, and the offline placeholder is recognised."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from PIL import Image, ImageDraw
from weather_checker import camera
from weather_checker.results import StepFailed
from weather_checker.session import make_session

from tests.weather_checker.samples import CAMERA_URL, flat_jpeg, street_jpeg

NOW = datetime(2026, 10, 20, 18, 0, tzinfo=UTC)


def fetch():
    return camera.fetch(make_session("test (t@example.org)", retries=0), CAMERA_URL, "533", timeout=2)


def snapshot(data: bytes, modified: datetime | None = NOW) -> camera.Snapshot:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return camera.Snapshot(data, width, height, "image/jpeg", modified, hashlib.sha256(data).hexdigest())


def test_a_jpeg_served_as_octet_stream_is_accepted(responses_mock):
    data = street_jpeg((352, 240))
    responses_mock.get(CAMERA_URL, body=data, content_type="binary/octet-stream",
                       headers={"Last-Modified": format_datetime(NOW, usegmt=True)})
    snap = fetch()
    assert (snap.width, snap.height) == (352, 240)
    assert snap.data == data
    assert snap.sha256 == hashlib.sha256(data).hexdigest()
    assert snap.last_modified == NOW


def test_html_instead_of_an_image_is_named(responses_mock):
    responses_mock.get(CAMERA_URL, body="<!DOCTYPE html><html><body>Maintenance</body></html>",
                       content_type="text/html")
    with pytest.raises(StepFailed) as caught:
        fetch()
    message = str(caught.value)
    assert "camera 533 answered text/html" in message
    assert "not an image" in message and "<!DOCTYPE html>" in message
    assert caught.value.transient is False


def test_truncated_jpeg_is_caught(responses_mock):
    data = street_jpeg()
    responses_mock.get(CAMERA_URL, body=data[: len(data) // 2], content_type="image/jpeg")
    with pytest.raises(StepFailed, match=r"camera 533 image is truncated or corrupt"):
        fetch()


def test_empty_body_is_named(responses_mock):
    responses_mock.get(CAMERA_URL, body=b"", content_type="image/jpeg")
    with pytest.raises(StepFailed, match="empty body"):
        fetch()


@pytest.mark.parametrize(("answer", "transient"), [
    ({"status": 404, "body": "missing"}, False),
    ({"status": 403, "body": "denied"}, False),
    ({"status": 503, "body": "busy"}, True),
    ({"body": requests.ConnectionError("refused")}, True),
    ({"body": requests.Timeout("slow")}, True),
])
def test_http_and_network_failures_say_whether_a_retry_may_help(responses_mock, answer, transient):
    responses_mock.get(CAMERA_URL, **answer)
    with pytest.raises(StepFailed, match="camera 533") as caught:
        fetch()
    assert caught.value.transient is transient


def test_live_street_scene_is_not_offline():
    assert camera.offline_reason(snapshot(street_jpeg()), (), NOW) is None


def test_dark_night_scene_is_not_mistaken_for_the_placeholder():
    image = Image.new("RGB", (640, 480))
    draw = ImageDraw.Draw(image)
    for y in range(480):
        draw.line((0, y, 640, y), fill=(8 + y // 12, 8 + y // 14, 12 + y // 12))
    for x in range(40, 640, 120):
        draw.ellipse((x, 100, x + 14, 114), fill=(255, 200, 120))
    out = io.BytesIO()
    image.save(out, "JPEG")
    assert camera.offline_reason(snapshot(out.getvalue()), (), NOW) is None


def test_known_placeholder_digest_is_offline():
    snap = snapshot(street_jpeg())
    assert "known 'unavailable' placeholder" in camera.offline_reason(snap, (snap.sha256,), NOW)


def test_image_not_updated_for_a_long_time_is_offline():
    reason = camera.offline_reason(snapshot(street_jpeg(), NOW - timedelta(hours=2)), (), NOW)
    assert "has not changed for 120 min" in reason


def test_flat_card_is_offline():
    assert "flat colour" in camera.offline_reason(snapshot(flat_jpeg()), (), NOW)
