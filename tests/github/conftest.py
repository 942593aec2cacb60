"""A real webhook (Flask app under a WSGI server, runner thread on) and a fake smee relay, on free ports."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
from werkzeug.serving import make_server

from devtools.background import BackgroundServer, FakeHandler, Request
from stacktest.gitrepo import Origin
from tests.webhook.conftest import KEY, clean_env, validator  # noqa: F401 - fixtures (clean_env is autouse)
from webhook import create_app, settings
from webhook.deploy.pipeline import Context
from webhook.deploy.runner import Runner


class Relay(BackgroundServer):
    """Answers 200 at once like smee.io, then forwards like smee-client: JSON re-serialised, a
    `timestamp` header added, all other headers kept. `drop = True` loses events (a disconnected client);
    `seen` is what a reader of the channel sees."""

    def __init__(self, target: str):
        super().__init__(_RelayHandler)
        self.target = target
        self.drop = False
        self.forwarded = 0

    @property
    def channel(self) -> str:
        return f"{self.url}/channel-secret-part"

    def forward(self, request: Request) -> None:
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        data = json.dumps(json.loads(request.body), indent=1).encode()  # not the sender's bytes
        headers.update({"content-type": "application/json", "timestamp": "1795290539685"})
        forward = urllib.request.Request(self.target, data=data, headers=headers, method="POST")
        try:
            urllib.request.urlopen(forward, timeout=10).read()
        except OSError:
            pass  # smee-client only logs a failed forward
        self.forwarded += 1


class _RelayHandler(FakeHandler):
    def respond(self, request: Request) -> None:
        self._text(200, "ok")
        if not self.fake.drop:
            threading.Thread(target=self.fake.forward, args=(request,), daemon=True).start()


@pytest.fixture
def webhook(tmp_path, origin: Origin, validator):  # noqa: F811 - the imported fixture
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
    with Relay(f"{webhook}/webhook") as server:
        yield server
