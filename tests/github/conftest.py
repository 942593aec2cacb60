"""A real webhook (Flask app under a WSGI server, runner thread on) and a fake smee relay, on free ports."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from werkzeug.serving import make_server

from stacktest.gitrepo import Origin, good_dag
from tests.webhook.conftest import KEY, clean_env  # noqa: F401 - an autouse fixture
from webhook import create_app, settings
from webhook.deploy.pipeline import Context
from webhook.deploy.runner import Runner
from webhook.deploy.validation import Validator


class Relay(ThreadingHTTPServer):
    """Answers 200 at once like smee.io, then forwards like smee-client: JSON re-serialised, a
    `timestamp` header added, all other headers kept. `drop = True` loses events (a disconnected client)."""

    daemon_threads = True

    def __init__(self, target: str):
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.target = target
        self.drop = False
        self.forwarded = 0
        self.seen: list[dict] = []  # what a reader of the channel sees

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/channel-secret-part"


class _RelayHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        self.server.seen.append({"headers": dict(headers), "body": body.decode("utf-8", "replace")})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        if not self.server.drop:
            threading.Thread(target=self._forward, args=(headers, body), daemon=True).start()

    def _forward(self, headers: dict, body: bytes) -> None:
        data = json.dumps(json.loads(body), indent=1).encode()  # not the sender's bytes
        headers.update({"content-type": "application/json", "timestamp": "1795290539685"})
        request = urllib.request.Request(self.server.target, data=data, headers=headers, method="POST")
        try:
            urllib.request.urlopen(request, timeout=10).read()
        except OSError:
            pass  # smee-client only logs a failed forward
        self.server.forwarded += 1


@pytest.fixture
def origin(tmp_path) -> Origin:
    """A bare origin whose production branch holds one valid DAG."""
    repo = Origin(tmp_path / "git")
    repo.commit({"dags/hello.py": good_dag("hello")}, "Initial DAGs (#1)")
    return repo


@pytest.fixture(scope="session")
def validator():
    shared = Validator(timeout=120, bundle_name="gitops")
    yield shared
    shared.close()


@pytest.fixture
def webhook(tmp_path, origin: Origin, validator):
    """The webhook served over HTTP with its runner thread, as gunicorn would; yields its base URL."""
    app = create_app({"state_dir": tmp_path / "state", "repo_url": origin.url, "webhook_key": KEY,
                      "start_runner": False, "poll_interval": 0.5})
    runner = Runner(settings.get(app), Context.build(settings.get(app), validator=validator))
    app.extensions["runner"] = runner
    runner.start()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    runner.stop()


@pytest.fixture
def relay(webhook):
    server = Relay(f"{webhook}/webhook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)
