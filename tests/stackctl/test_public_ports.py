"""`up` asks every public port through the real HAProxy as a user would (stackctl/health.py check_public), and
a port that does not answer so is named in a sentence."""

from __future__ import annotations

import pytest

from stackctl import health
from stackctl import settings as settings_mod
from tests.haproxy.proxy import HOSTNAMES, PASSWORD, USERNAME, start_stack


@pytest.fixture
def haproxy(tmp_path):
    running = start_stack(tmp_path / "haproxy", HOSTNAMES)
    yield running
    running.stop()


def _settings(tmp_path, haproxy):
    ports = {f"PUBLIC_{name.upper()}_PORT": str(port) for name, port in haproxy.ports.items()}
    return settings_mod.load({"STACK_STATE_DIR": str(tmp_path / "state"), "STACK_ENV_FILE": "",
                              "HAPROXY_BIND": "127.0.0.1", **ports})


LOGINS = {"operator": (USERNAME, PASSWORD), "admin": ("admin", "not-asked-here")}


def test_a_backend_down_is_named_by_its_port(tmp_path, haproxy):
    settings = _settings(tmp_path, haproxy)
    haproxy.backends["flower"].stop()
    failures = health.check_public(settings, LOGINS, set(), timeout=5)
    flower = [line for line in failures if "PUBLIC_FLOWER_PORT" in line]
    assert len(flower) == 1 and flower[0].startswith(
        f"port {haproxy.ports['flower']} (PUBLIC_FLOWER_PORT, Flower) did not answer through HAProxy as it "
        f"should: "), failures  # then what it said: HTTP 503, or a timeout while HAProxy still tries it
    # the stand-in api-server has no login: a page is not enough, the port must give the admin a token
    assert any("PUBLIC_AIRFLOW_PORT" in line and "without a token" in line for line in failures), failures
    for port in ("PUBLIC_WEBHOOK_PORT", "PUBLIC_DIAGNOSTICS_PORT", "PUBLIC_STATS_PORT"):
        assert not [line for line in failures if port in line], failures


def test_the_monitoring_port_is_asked_only_when_its_dashboard_runs(tmp_path, haproxy):
    settings = _settings(tmp_path, haproxy)
    if "PUBLIC_MONITORING_PORT" not in settings.ports:
        pytest.skip("no monitoring port in this checkout's settings")
    asked = [port for port, _, _ in health.public_ports(settings, set())]
    assert "PUBLIC_MONITORING_PORT" not in asked and "PUBLIC_FLOWER_PORT" in asked
    assert "PUBLIC_MONITORING_PORT" in [port for port, _, _ in health.public_ports(settings, {"dashboard"})]
