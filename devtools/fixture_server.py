"""A local stand-in for api.weather.gov and the city camera host, with switchable failures.

Run: python -m devtools.fixture_server --port N [--nws ok|503|404|malformed|redirect] [--camera ok|html|...]
Then point the stack at it: NWS_BASE_URL=http://127.0.0.1:N  CAMERA_URL_PATTERN=http://127.0.0.1:N/image/{id}.jpg
Switch scenarios while it runs: PUT /_fixture/scenario {"nws": "503"}; GET /_fixture/requests counts calls.
It also serves what the example pipelines read (devtools/pipeline_fixtures.py).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw, ImageFont

from devtools import pipeline_fixtures
from devtools.background import BackgroundServer, FakeHandler, Request

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "nws"
NWS_SCENARIOS = ("ok", "503", "404", "malformed", "redirect")
CAMERA_SCENARIOS = ("ok", "placeholder", "html", "truncated", "404", "503")
POINT_RE = re.compile(r"^/points/(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$")
FORECAST_RE = re.compile(r"^/gridpoints/[A-Z]{3}/\d+,\d+/forecast$")
IMAGE_RE = re.compile(r"^/image/([A-Za-z0-9_-]+)\.jpg$")


def street_jpeg(camera_id: str, now: datetime) -> bytes:
    """A synthetic street scene (sky, road, lane lines, a car) that changes with the time drawn on it."""
    image = Image.new("RGB", (640, 480), (120, 160, 205))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 260, 640, 480), fill=(70, 72, 75))
    shift = (now.second % 8) * 10
    for x in range(0, 640, 80):
        draw.rectangle((x + shift, 365, x + 40 + shift, 372), fill=(240, 220, 90))
    draw.rectangle((200 + now.second * 3, 300, 320 + now.second * 3, 350), fill=(180, 30, 40))
    draw.rectangle((40, 120, 140, 260), fill=(150, 140, 130))
    font = ImageFont.load_default(size=18)
    draw.text((420, 440), f"CAM {camera_id} {now:%H:%M:%S}", font=font, fill="white")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def placeholder_jpeg() -> bytes:
    """A flat grey card like the city's 'unavailable' image."""
    image = Image.new("RGB", (640, 480), (128, 128, 128))
    font = ImageFont.load_default(size=12)
    ImageDraw.Draw(image).text((250, 230), "unavailable", font=font, fill=(136, 136, 136))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class FixtureServer(BackgroundServer):
    """NWS and camera fixtures; `scenario` says which failure (if any) to serve."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, fixtures: Path = FIXTURES,
                 nws: str = "ok", camera: str = "ok", quiet: bool = True):
        super().__init__(_Handler, host, port, quiet)
        self.fixtures = fixtures
        self.scenario = {"nws": "ok", "camera": "ok", "partner": "ready"}
        self.counts: dict[str, int] = {}
        self.user_agents: list[str] = []
        self._lock = threading.Lock()
        self.set_scenario({"nws": nws, "camera": camera})

    @property
    def nws_base_url(self) -> str:
        return self.url

    @property
    def camera_url_pattern(self) -> str:
        return self.url + "/image/{id}.jpg"

    def set_scenario(self, changes: dict) -> dict:
        """Validate and apply {"nws": ..., "camera": ...}; raise ValueError naming a bad value."""
        allowed = {"nws": NWS_SCENARIOS, "camera": CAMERA_SCENARIOS, "partner": pipeline_fixtures.PARTNER_SCENARIOS}
        for key, value in changes.items():
            if key not in allowed:
                raise ValueError(f"unknown scenario key {key!r}; use {', '.join(allowed)}")
            if value not in allowed[key]:
                raise ValueError(f"{key} scenario must be one of {', '.join(allowed[key])}, got {value!r}")
        with self._lock:
            self.scenario.update(changes)
            return dict(self.scenario)

    def count(self, what: str, user_agent: str) -> None:
        with self._lock:
            self.counts[what] = self.counts.get(what, 0) + 1
            self.user_agents = [*self.user_agents[-19:], user_agent]

    def stats(self) -> dict:
        with self._lock:
            return {"counts": dict(self.counts), "user_agents": list(self.user_agents),
                    "scenario": dict(self.scenario)}

    def document(self, name: str, base_url: str | None = None) -> bytes:
        """A fixture file with the real host name replaced by this server's address as the client named it."""
        text = (self.fixtures / name).read_text()
        return text.replace("https://api.weather.gov", base_url or self.url).encode()


class _Handler(FakeHandler):
    server_version = "FixtureServer/1.0"

    def _document(self, name: str) -> bytes:
        return self.fake.document(name, self._base_url())

    def _base_url(self) -> str | None:
        """This server as the client reached it (a compose service name, or loopback natively)."""
        host = self.headers.get("Host", "")
        return f"http://{host}" if re.fullmatch(r"[A-Za-z0-9.\-]+(:\d{1,5})?", host) else None

    def respond(self, request: Request) -> None:
        path = request.path.split("?", 1)[0]
        if request.method in ("PUT", "POST"):
            return self._change_scenario(request) if path == "/_fixture/scenario" else self._text(404, "not found\n")
        if request.method not in ("GET", "HEAD"):
            return super().respond(request)
        if path == "/_fixture/requests":
            return self._json(200, self.fake.stats())
        if path == "/_fixture/scenario":
            return self._json(200, self.fake.scenario)
        if path.startswith(("/points/", "/gridpoints/")):
            return self._nws(path)
        match = IMAGE_RE.match(path)
        if match:
            return self._camera(match.group(1))
        pipeline = pipeline_fixtures.answer(path, parse_qs(urlsplit(request.path).query), self.fake.scenario)
        if pipeline:
            return self._json(*pipeline)
        return self._text(404, "not found\n")

    def _change_scenario(self, request: Request) -> None:
        try:
            changes = json.loads(request.body or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("body must be a JSON object")
            return self._json(200, self.fake.set_scenario(changes))
        except ValueError as error:
            return self._json(400, {"error": str(error)})

    def _nws(self, path: str) -> None:
        agent = self.headers.get("User-Agent", "")
        self.fake.count("points" if path.startswith("/points/") else "forecast", agent)
        # Like NWS: no identifying User-Agent, no data.
        if not agent or agent.startswith("python-requests"):
            return self._send(403, b"<html><body>Access Denied</body></html>", "text/html")
        mode = self.fake.scenario["nws"]
        if mode == "503":
            body = self._document("problem_unavailable.json")
            return self._send(503, body, "application/problem+json")
        point = POINT_RE.match(path)
        if point:
            lat, lon = point.groups()
            # NWS answers 301 to coordinates cut to 4 decimals; "redirect" cuts to 3 so any client sees one.
            limit = 3 if mode == "redirect" else 4
            if any(len(v.partition(".")[2]) > limit for v in (lat, lon)):
                short = ",".join(f"{float(v):.{limit}f}".rstrip("0").rstrip(".") for v in (lat, lon))
                return self._send(301, b"", "text/plain", {"Location": f"{self.fake.url}/points/{short}"})
            if mode == "404" or not (17 <= float(lat) <= 72 and -180 <= float(lon) <= -64):
                body = json.loads(self._document("problem_invalid_point.json"))
                body["detail"] = f"Unable to provide data for requested point {lat},{lon}"
                return self._json(404, body, "application/problem+json")
            if mode == "malformed":
                cut = b'{"type": "Feature", "properties": {"forecast": '
                return self._send(200, cut, "application/geo+json")
            return self._send(200, self._document("points_austin.json"), "application/geo+json")
        if FORECAST_RE.match(path):
            return self._send(200, self._document("forecast_austin.json"), "application/geo+json")
        return self._json(404, {"title": "Not Found", "status": 404, "detail": f"no fixture for {path}"},
                          "application/problem+json")

    def _camera(self, camera_id: str) -> None:
        self.fake.count("camera", self.headers.get("User-Agent", ""))
        mode = self.fake.scenario["camera"]
        now = datetime.now(UTC)
        fresh = {"Last-Modified": format_datetime(now, usegmt=True)}
        if mode in ("404", "503"):
            return self._send(int(mode), f"<html><body>{mode}</body></html>".encode(), "text/html")
        if mode == "html":
            page = b"<!DOCTYPE html><html><head><title>Error</title></head><body>Camera portal maintenance"
            return self._send(200, page + b"</body></html>", "text/html; charset=utf-8")
        if mode == "placeholder":
            old = {"Last-Modified": format_datetime(now - timedelta(hours=2), usegmt=True)}
            return self._send(200, placeholder_jpeg(), "binary/octet-stream", old)
        data = street_jpeg(camera_id, now)
        if mode == "truncated":
            data = data[: len(data) // 2]
        # The city's S3 uploader sets no content type.
        return self._send(200, data, "binary/octet-stream", fresh)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--nws", choices=NWS_SCENARIOS, default="ok")
    parser.add_argument("--camera", choices=CAMERA_SCENARIOS, default="ok")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES, help="folder with the NWS JSON fixtures")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if not (args.fixtures / "points_austin.json").is_file():
        parser.error(f"--fixtures {args.fixtures} has no points_austin.json")
    server = FixtureServer(args.host, args.port, args.fixtures, args.nws, args.camera, quiet=not args.verbose)
    print(f"fixture server on {server.url}\nNWS_BASE_URL={server.nws_base_url}\n"
          f"CAMERA_URL_PATTERN={server.camera_url_pattern}", flush=True)
    return server.serve_until_interrupted()


if __name__ == "__main__":
    sys.exit(main())
