"""Sample inputs for the weather tests: NWS fixture files, their URLs, synthetic camera JPEGs."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image, ImageDraw

NWS_FIXTURES = Path(__file__).resolve().parents[2] / "devtools" / "fixtures" / "nws"
HAPROXY_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "haproxy"
BASE = "https://api.weather.gov"
POINT_URL = f"{BASE}/points/30.2672,-97.7431"
FORECAST_URL = f"{BASE}/gridpoints/EWX/156,91/forecast"
CAMERA_URL = "https://cctv.austinmobility.io/image/533.jpg"


def nws_fixture(name: str) -> dict:
    return json.loads((NWS_FIXTURES / name).read_text())


def street_jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    """A busy synthetic scene: sky gradient, road, lane marks, a car (not a flat placeholder)."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = int(120 + 100 * y / height)
        draw.line((0, y, width, y), fill=(shade // 2, shade // 2 + 30, shade))
    draw.rectangle((0, height * 6 // 10, width, height), fill=(70, 72, 75))
    for x in range(0, width, width // 8):
        draw.rectangle((x, height * 8 // 10, x + width // 16, height * 8 // 10 + 6), fill=(240, 220, 90))
    draw.rectangle((width // 3, height * 6 // 10 + 10, width // 2, height * 7 // 10 + 20), fill=(180, 30, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def flat_jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    image = Image.new("RGB", size, (128, 128, 128))
    ImageDraw.Draw(image).text((size[0] // 2 - 40, size[1] // 2), "unavailable", fill=(134, 134, 134))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def record(**overrides) -> dict:
    """A complete run record as build_record makes it, every check passing."""
    checks = [
        {"name": "forecast", "status": "pass", "detail": "This Afternoon: Slight Chance Showers"},
        {"name": "camera", "status": "pass", "detail": "camera 533: 640x480 image, annotated"},
        {"name": "secret", "status": "pass", "detail": "read item 'Diagnostic ETL (Weather)'"},
        {"name": "redis", "status": "pass", "detail": "PONG from redis:6379 in 0.3 ms"},
        {"name": "relay", "status": "warn", "detail": "no event relayed yet"},
    ]
    value = {
        "dag_id": "weather-checker", "run_id": "manual__2026-10-20T18:05:00+00:00",
        "environment": "development",
        "finished_at": "2026-10-20T18:05:09+00:00", "local_time": "10/20/2026 13:05:09 CDT",
        "timezone": "America/Chicago",
        "forecast": {"period": "This Afternoon", "text": "A slight chance of showers and thunderstorms.",
                     "short": "Slight Chance Showers And Thunderstorms", "temperature": "84°F",
                     "place": "Austin, TX", "grid": "EWX/156,91"},
        "camera": {"camera_id": "533", "label": "38th & Duval", "image": "images/run-1.jpg", "width": 640,
                   "height": 480, "offline": None, "taken_local": "10/20/2026 13:05:03 CDT"},
        "checks": checks, "failed": [], "verdict": "pass", "stack_version": "0.1.0",
        "commit": "0123456789abcdef0123", "airflow_version": "3.3.2", "host": "worker-1",
    }
    value.update(overrides)
    value["failed"] = [c["name"] for c in value["checks"] if c["status"] == "fail"]
    return value
