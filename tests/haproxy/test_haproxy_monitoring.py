"""The `monitoring` profile through haproxy/haproxy.cfg: its port asks for the operators' login, routes /,
/prometheus/ and /alertmanager/, says so when the profile is off, and HAProxy's own metrics stay internal."""

import pytest

from tests.haproxy.backends import Backend
from tests.haproxy.client import send

PATHS = {"/": "dashboard", "/prometheus/graph": "prometheus", "/alertmanager/api/v2/status": "alertmanager"}


@pytest.mark.parametrize("path", list(PATHS))
def test_the_monitoring_port_asks_for_the_operators_login(stack, path):
    refused = stack.request("monitoring", path)
    assert refused.status == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert stack.request("monitoring", path, auth=(stack.auth[0], "wrong")).status == 401


@pytest.mark.parametrize("path", list(PATHS))
def test_with_the_profile_off_the_port_says_how_to_switch_it_on(stack, operator_auth, path):
    # (a server is UP until its first check fails)
    stack.wait_until(lambda: stack.server_states().get(PATHS[path]) == "DOWN", what=f"{PATHS[path]} DOWN")
    reply = stack.request("monitoring", path, auth=operator_auth)
    assert reply.status == 503
    assert "add monitoring to COMPOSE_PROFILES" in reply.text


def test_each_path_reaches_its_program(stack_factory, operator_auth):
    programs = {name: Backend(name) for name in PATHS.values()}
    try:
        env = {f"{name.upper()}_HOST": "127.0.0.1" for name in programs}
        env |= {f"{name.upper()}_PORT": str(backend.port) for name, backend in programs.items()}
        running = stack_factory(env)
        running.wait_until(lambda: all(running.server_states().get(name) == "UP" for name in programs),
                           what="the monitoring backends UP")
        for path, name in PATHS.items():
            reply = running.request("monitoring", path, auth=operator_auth)
            assert (reply.status, reply.text) == (200, name), path
        assert running.request("monitoring", "/prometheus", auth=operator_auth).status == 302
    finally:
        for backend in programs.values():
            backend.stop()


def test_haproxys_metrics_are_on_the_internal_listener_only(stack):
    metrics = send(stack.ports["metrics"], "/metrics")
    assert metrics.status == 200 and "haproxy_process_" in metrics.text
    assert send(stack.ports["metrics"], "/").status == 404
    # and not on the public ports
    assert "haproxy_process_" not in stack.request("airflow", "/metrics").text
