"""Cookies set over https are marked Secure by HAProxy (Airflow's session cookie is not, behind TLS offload)."""

import http.client
import ssl

import pytest

from devtools.background import BackgroundServer, FakeHandler, Request

AIRFLOW = "airflow.example.test"
COOKIES = (
    "session=abc123; Path=/; HttpOnly; SameSite=Lax",  # what Airflow's api-server sends
    "_xsrf=x; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/",  # a comma inside the value
    "already=1; secure; Path=/",  # marked by the backend itself: not twice
)


class CookieBackend(BackgroundServer):
    """An HTTP server on `port` whose every answer sets COOKIES."""

    def __init__(self, port):
        super().__init__(_CookieHandler, port=port)


class _CookieHandler(FakeHandler):
    protocol_version = "HTTP/1.1"

    def respond(self, request: Request) -> None:
        self._text(200, "ok", headers=[("Set-Cookie", cookie) for cookie in COOKIES])


@pytest.fixture
def cookie_stack(stack_factory, self_signed_pem):
    """HAProxy with TLS whose Airflow backend sets cookies."""
    running = stack_factory({"TLS_CERT_PATH": str(self_signed_pem)})
    running.tls_context = ssl.create_default_context(cafile=str(self_signed_pem))
    running.tls_context.check_hostname = False
    stub = running.backends["airflow"]
    stub.stop()
    backend = CookieBackend(stub.port).start()
    running.wait_until(lambda: running.server_states().get("airflow_api") == "UP", what="the cookie backend to be UP")
    yield running
    backend.stop()


def set_cookies(stack, port_name, host, tls):
    """Every Set-Cookie value of one GET / (http.client keeps repeated headers apart)."""
    port = stack.ports[port_name]
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=stack.tls_context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/", headers={"Host": host, "X-Test-Client": "1"})
        reply = conn.getresponse()
        reply.read()
        assert reply.status == 200
        return reply.msg.get_all("Set-Cookie")
    finally:
        conn.close()


def attributes(cookie):
    return [part.strip().lower() for part in cookie.split(";")[1:]]


@pytest.mark.parametrize("host", [AIRFLOW, "127.0.0.1"])
def test_cookies_over_https_are_secure(cookie_stack, host):
    cookies = set_cookies(cookie_stack, "https", host, tls=True)
    assert len(cookies) == len(COOKIES)
    for sent, received in zip(COOKIES, cookies, strict=True):
        assert attributes(received).count("secure") == 1, received
        assert [a for a in attributes(received) if a != "secure"] == [a for a in attributes(sent) if a != "secure"]
    assert cookies[0] == COOKIES[0] + "; Secure"


def test_cookies_over_plain_http_are_left_alone(cookie_stack):
    # not a production name, so not redirected: the relay and local users still use plain http
    assert set_cookies(cookie_stack, "airflow", "127.0.0.1", tls=False) == list(COOKIES)
