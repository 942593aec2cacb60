"""Real requests through haproxy/haproxy.cfg: auth, blocked paths, routing, limits."""

import time

import pytest

# The production host names the `stack` fixture configures (tests/haproxy/proxy.py).
FLOWER = "flower.example.test"
AIRFLOW = "airflow.example.test"
WEBHOOK = "webhook.example.test"
DIAGNOSTICS = "diagnostics.example.test"


def test_flower_port_without_credentials_is_refused(stack):
    before = len(stack.backends["flower"].client_requests())
    reply = stack.request("flower", "/")
    assert reply.status == 401
    assert reply.headers["www-authenticate"].startswith("Basic")
    assert len(stack.backends["flower"].client_requests()) == before


# The old config let any Host header other than the production name through on Flower's port.
@pytest.mark.parametrize("host", ["evil.example", "localhost", "127.0.0.1", "", "FLOWER.EXAMPLE.TEST",
                                  "airflow-workers.austinmobility.io", "flower.example.test:8082"])
def test_flower_needs_credentials_whatever_the_host_header(stack, host):
    before = len(stack.backends["flower"].client_requests())
    reply = stack.request("flower", "/tasks", host=host)
    assert reply.status == 401
    assert len(stack.backends["flower"].client_requests()) == before


@pytest.mark.parametrize("auth", [("ops", "wrong"), ("admin", "correct horse battery staple"), ("ops", "")])
def test_flower_refuses_wrong_credentials(stack, auth):
    assert stack.request("flower", "/", auth=auth).status == 401


def test_an_empty_password_lets_nobody_in(stack_factory):
    locked = stack_factory({"FLOWER_PASSWORD": ""}, wait_healthy=False)
    for port_name in ("flower", "stats"):
        assert locked.request(port_name, "/", auth=("ops", "")).status == 401
        assert locked.request(port_name, "/").status == 401
    assert not locked.backends["flower"].client_requests()


def test_passwords_with_config_syntax_characters_work(stack_factory):
    password = 'p,a)s"s w$o\'rd'
    running = stack_factory({"FLOWER_PASSWORD": password})
    assert running.request("flower", "/", auth=("ops", password)).text == "flower"
    assert running.request("flower", "/", auth=("ops", "p,a)s")).status == 401


def test_flower_with_credentials_reaches_flower(stack, operator_auth):
    reply = stack.request("flower", "/workers", auth=operator_auth)
    assert (reply.status, reply.text) == (200, "flower")
    assert stack.backends["flower"].client_requests()[-1].path == "/workers"


@pytest.mark.parametrize("port_name", ["airflow", "webhook", "diagnostics", "flower"])
def test_flower_host_name_routes_to_flower_on_any_port_and_still_needs_auth(stack, operator_auth, port_name):
    assert stack.request(port_name, "/", host=FLOWER).status == 401
    reply = stack.request(port_name, "/", host=f"{FLOWER}:443", auth=operator_auth)
    assert (reply.status, reply.text) == (200, "flower")


@pytest.mark.parametrize("path", ["/execution/", "/execution", "/execution/task-instances/x/run",
                                  "//execution/health", "/%65xecution/health", "/EXECUTION/health",
                                  "/./execution/health", "/execution?x=1", "/%2Fexecution/"])
def test_execution_api_is_refused_and_never_reaches_the_api_server(stack, path):
    reply = stack.request("airflow", path, method="PATCH", body=b"{}")
    assert reply.status == 403
    assert not [seen for seen in stack.backends["airflow"].seen if "xecution" in seen.path.lower()]


def test_execution_api_is_refused_even_when_reached_by_host_name(stack):
    assert stack.request("webhook", "/execution/health", host=AIRFLOW).status == 403
    assert not [seen for seen in stack.backends["airflow"].seen if "execution" in seen.path.lower()]


@pytest.mark.parametrize("path", ["/api/v2/dags", "/auth/token", "/dags/executions-report", "/"])
def test_airflow_port_serves_the_api_server(stack, path):
    reply = stack.request("airflow", path)
    assert (reply.status, reply.text) == (200, "airflow")
    assert stack.backends["airflow"].client_requests()[-1].path == path


def test_forwarded_headers_come_from_haproxy_not_the_client(stack):
    stack.request("airflow", "/api/v2/version",
                  headers={"X-Forwarded-For": "10.9.9.9", "X-Forwarded-Proto": "https"})
    seen = stack.backends["airflow"].client_requests()[-1]
    assert seen.headers["x-forwarded-for"] == "127.0.0.1"
    assert seen.headers["x-forwarded-proto"] == "http"


def test_diagnostics_port_is_public(stack):
    reply = stack.request("diagnostics", "/")
    assert (reply.status, reply.text) == (200, "diagnostics")
    reply = stack.request("airflow", "/index.html", host=DIAGNOSTICS)
    assert (reply.status, reply.text) == (200, "diagnostics")


def test_webhook_port_and_host_name_reach_the_webhook(stack):
    assert stack.request("webhook", "/healthz").text == "webhook"
    assert stack.request("airflow", "/status", host=WEBHOOK).text == "webhook"


def test_stats_page_needs_credentials(stack, operator_auth):
    assert stack.request("stats", "/").status == 401
    assert stack.request("stats", "/", auth=("ops", "nope")).status == 401
    reply = stack.request("stats", "/", auth=operator_auth)
    assert reply.status == 200
    assert "Statistics Report" in reply.text


def test_the_stats_login_reads_stats_and_nothing_else(stack):
    """The weather-checker's read-only login (tasks never hold Flower's password) opens the stats page only."""
    from tests.haproxy.proxy import STATS_PASSWORD
    reader = ("stats", STATS_PASSWORD)
    assert stack.request("stats", "/;csv", auth=reader).status == 200
    assert stack.request("flower", "/", auth=reader).status == 401
    assert stack.request("stats", "/", auth=("stats", "")).status == 401


def test_an_unset_stats_password_lets_nobody_in_as_stats(stack_factory):
    running = stack_factory({"HAPROXY_STATS_PASSWORD": ""})
    assert running.request("stats", "/", auth=("stats", "")).status == 401


def post(stack, source, body=b"{}", headers=None):
    """POST to the webhook port from one loopback source address."""
    return stack.request("webhook", "/webhook", method="POST", body=body, source=source, headers=headers)


def test_webhook_body_size_is_capped(stack):
    before = len(stack.backends["webhook"].client_requests())
    # Refused on the headers alone: HAProxy never waits for the mebibyte to arrive.
    big = stack.request("webhook", "/webhook", method="POST", source="127.0.0.9",
                        headers={"Content-Length": str(1024 * 1024 + 1)})
    assert big.status == 413
    chunked = post(stack, "127.0.0.9", headers={"Transfer-Encoding": "chunked"})
    assert chunked.status == 411
    assert len(stack.backends["webhook"].client_requests()) == before
    assert post(stack, "127.0.0.9", body=b'{"ref": "production"}').status == 200
    assert stack.backends["webhook"].client_requests()[-1].body == b'{"ref": "production"}'


def test_webhook_rate_limit_is_per_client(fresh_stack):
    statuses = [post(fresh_stack, "127.0.0.2").status for _ in range(31)]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429
    assert post(fresh_stack, "127.0.0.2").status == 429
    # Another client is not punished for the first one.
    assert post(fresh_stack, "127.0.0.3").status == 200
    # Only the webhook is limited, and reading its status is not a write.
    assert fresh_stack.request("airflow", "/api/v2/dags", source="127.0.0.2").status == 200
    assert fresh_stack.request("webhook", "/", source="127.0.0.2").status == 200


def test_status_polling_does_not_use_up_the_deploy_budget(fresh_stack):
    reads = [fresh_stack.request("webhook", "/", source="127.0.0.4").status for _ in range(40)]
    assert reads == [200] * 40
    assert post(fresh_stack, "127.0.0.4").status == 200


def test_backend_is_served_within_a_second_of_becoming_healthy(fresh_stack, backend_factory):
    diagnostics = fresh_stack.backends["diagnostics"]
    port = diagnostics.port
    diagnostics.stop()
    fresh_stack.wait_until(lambda: fresh_stack.request("diagnostics", "/").status == 503, timeout=5,
                           what="diagnostics to be reported down (503)")
    started = time.monotonic()
    fresh_stack.backends["diagnostics"] = backend_factory("diagnostics", port)
    served = fresh_stack.wait_until(lambda: fresh_stack.request("diagnostics", "/").status == 200, timeout=5,
                                    what="diagnostics to be served again")
    assert served - started < 1.0


def test_password_guessing_at_the_api_login_is_limited(fresh_stack):
    def attempt(source: str) -> int:
        return fresh_stack.request("airflow", "/auth/token", method="POST", source=source,
                                   headers={"Content-Type": "application/json"},
                                   body=b'{"username": "admin", "password": "guess"}').status

    statuses = [attempt("127.0.0.3") for _ in range(21)]
    assert 429 not in statuses[:20]
    assert statuses[20] == 429
    assert fresh_stack.request("airflow", "//auth//token", method="POST", source="127.0.0.3").status == 429
    assert attempt("127.0.0.4") != 429, "other addresses are not locked out"


@pytest.mark.parametrize("port_name", ["flower", "stats"])
def test_password_guessing_at_flower_and_stats_is_limited(fresh_stack, operator_auth, port_name):
    wrong = (operator_auth[0], "guess")
    statuses = [fresh_stack.request(port_name, "/", auth=wrong, source="127.0.0.5").status for _ in range(21)]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429
    # the address is locked out for the minute, right password or not; others are not
    assert fresh_stack.request(port_name, "/", auth=operator_auth, source="127.0.0.5").status == 429
    assert fresh_stack.request(port_name, "/", auth=operator_auth, source="127.0.0.6").status == 200
