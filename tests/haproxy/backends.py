"""What HAProxy fronts in these tests: HTTP backends that answer with their own name and record what they
saw, and TCP stand-ins for Redis and PostgreSQL."""

import socketserver
import threading

from devtools.background import BackgroundServer, FakeHandler, Request

# AuthenticationOk: what HAProxy's pgsql-check wants to hear.
POSTGRES_AUTH_OK = b"R\x00\x00\x00\x08\x00\x00\x00\x00"
# What a Redis with a password answers to anything before AUTH.
REDIS_NOAUTH = b"-NOAUTH Authentication required.\r\n"


class Backend(BackgroundServer):
    """A running HTTP backend on `port` (0: a free one) that answers every request with its name."""

    def __init__(self, name, port=0):
        super().__init__(_NameHandler, port=port)
        self.name = name
        self.start()

    def client_requests(self):
        """Requests sent by the tests (they carry X-Test-Client), not HAProxy's own health checks."""
        return [seen for seen in self.seen if seen.headers.get("x-test-client")]


class _NameHandler(FakeHandler):
    protocol_version = "HTTP/1.1"

    def respond(self, request: Request) -> None:
        self._text(200, self.fake.name)


class TcpFake:
    """A TCP server answering every chunk with one fixed reply: a stand-in for Redis or PostgreSQL."""

    def __init__(self, reply):
        self.received = []
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                while data := self.request.recv(4096):
                    fake.received.append(data)
                    self.request.sendall(reply)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
