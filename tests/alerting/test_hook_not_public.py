"""The dashboard's /hooks/alertmanager posts to Slack: HAProxy never passes it on, whatever the spelling, even
with the operators' login (the real haproxy/haproxy.cfg in front of a recording dashboard)."""

from __future__ import annotations

import pytest

from stacktest.net import free_ports
from tests.haproxy.backends import Backend
from tests.haproxy.proxy import start_stack


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    dashboard = Backend("dashboard")
    monitoring_port, metrics_port = free_ports(2)
    running = start_stack(tmp_path_factory.mktemp("haproxy-hooks"), {
        "PUBLIC_MONITORING_PORT": str(monitoring_port), "HAPROXY_METRICS_BIND": "127.0.0.1",
        "HAPROXY_METRICS_PORT": str(metrics_port), "DASHBOARD_HOST": "127.0.0.1",
        "DASHBOARD_PORT": str(dashboard.port)}, wait_healthy=False)
    running.ports["monitoring"] = monitoring_port
    running.wait_until(lambda: running.server_states().get("dashboard") == "UP", what="the dashboard to be UP")
    yield running, dashboard
    running.stop()
    dashboard.stop()


def test_the_dashboard_itself_is_served(proxy):
    running, dashboard = proxy
    reply = running.request("monitoring", "/", auth=running.auth)
    assert (reply.status, reply.text) == (200, "dashboard")


@pytest.mark.parametrize("path", ["/hooks/alertmanager", "/HOOKS/alertmanager", "//hooks/alertmanager",
                                  "/./hooks/alertmanager", "/%68ooks/alertmanager", "/hooks"])
def test_the_alert_hook_is_not_passed_on(proxy, path):
    running, dashboard = proxy
    before = len(dashboard.client_requests())
    reply = running.request("monitoring", path, method="POST", auth=running.auth, body=b'{"version": "4"}',
                            headers={"Content-Type": "application/json"})
    assert reply.status == 404
    assert len(dashboard.client_requests()) == before
