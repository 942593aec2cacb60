"""HAProxy's health checks against the real haproxy.cfg: a slow api-server stays in, a dead one goes out."""

import threading
import time
import urllib.error
import urllib.request

from devtools.background import BackgroundServer
from tests.haproxy.backends import _NameHandler

# Longer than the old checks allowed (two 5 s timeouts took the server out after about 10 s), shorter than
# three of today's 10 s ones: an api-server held this long by one request on a loaded machine.
HOLD_SECONDS = 14


class _HeldHandler(_NameHandler):
    def respond(self, request):
        self.fake.wait_released()
        super().respond(request)


class HeldBackend(BackgroundServer):
    """A backend whose every request (health checks included) waits while it is held: an api-server whose
    event loop one slow request holds."""

    def __init__(self, name, port):
        super().__init__(_HeldHandler, port=port)
        self.name = name
        self.released = threading.Event()
        self.released.set()
        self.start()

    def hold(self, seconds):
        self.released.clear()
        threading.Timer(seconds, self.released.set).start()

    def wait_released(self):
        self.released.wait()


def _down_transitions(stack, server):
    """The stats page's chkdown: how often the server was taken out (UP to DOWN) since HAProxy started."""
    reply = stack.request("stats", "/;csv", auth=stack.auth)
    header = reply.text.splitlines()[0].lstrip("# ").split(",")
    for line in reply.text.splitlines()[1:]:
        cells = line.split(",")
        if cells[:2] == ["airflow_api", server]:
            return int(cells[header.index("chkdown")] or 0)
    raise AssertionError(f"no server {server} in the stats:\n{reply.text}")


def test_a_slow_api_server_is_not_taken_out(fresh_stack):
    port = fresh_stack.backends["airflow"].port
    fresh_stack.backends["airflow"].stop()
    fresh_stack.backends["airflow"] = held = HeldBackend("airflow", port)
    fresh_stack.wait_until(lambda: fresh_stack.request("airflow", "/").status == 200, what="the api-server served")
    before = _down_transitions(fresh_stack, "api")
    held.hold(HOLD_SECONDS)
    started = time.monotonic()
    answers = []
    url = f"http://127.0.0.1:{fresh_stack.ports['airflow']}/api/v2/version"
    while time.monotonic() - started < HOLD_SECONDS + 3:  # a user asking all along, each request answered late
        try:
            with urllib.request.urlopen(url, timeout=60) as reply:
                answers.append(reply.status)
        except urllib.error.HTTPError as error:
            answers.append(error.code)
    assert set(answers) == {200}, answers
    assert _down_transitions(fresh_stack, "api") == before
    assert fresh_stack.server_states()["airflow_api"] == "UP"


def test_a_dead_api_server_is_taken_out(fresh_stack):
    fresh_stack.backends["airflow"].stop()
    fresh_stack.wait_until(lambda: fresh_stack.server_states()["airflow_api"] == "DOWN", timeout=10,
                           what="the dead api-server to be taken out")
    assert fresh_stack.request("airflow", "/api/v2/version").status == 503
