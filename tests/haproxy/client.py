"""One request to a public HAProxy port exactly as written: no path normalisation, any Host header, any
source address on loopback, plain or TLS, with a body sent whole or chunked."""

import base64
import http.client
from dataclasses import dataclass


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self):
        return self.body.decode(errors="replace")


def send(port, path="/", *, method="GET", host=None, auth=None, source="127.0.0.1", headers=None, body=None,
         tls_context=None):
    """The request carries X-Test-Client, which tells it from HAProxy's health checks at the backend."""
    if tls_context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, source_address=(source, 0),
                                           context=tls_context)
    all_headers = {"X-Test-Client": "1", **(headers or {})}
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        all_headers["Authorization"] = f"Basic {token}"
    chunked = "Transfer-Encoding" in all_headers
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
        for name, value in all_headers.items():
            conn.putheader(name, value)
        if body is not None and not chunked:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body is not None and not chunked else None)
        if body is not None and chunked:
            conn.send(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
        reply = conn.getresponse()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        conn.close()
