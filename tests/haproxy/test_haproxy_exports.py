"""The DAGs' CSV exports (/exports/ on the diagnostics server) through haproxy/haproxy.cfg: the operators'
login on every port and host name, however the path is spelled; the diagnostic page stays open."""

import pytest


def test_the_diagnostic_page_needs_no_login_but_an_export_does(stack, operator_auth):
    assert stack.request("diagnostics", "/").status == 200
    before = len(stack.backends["diagnostics"].client_requests())
    refused = stack.request("diagnostics", "/exports/orders-latest.csv")
    assert refused.status == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert len(stack.backends["diagnostics"].client_requests()) == before
    allowed = stack.request("diagnostics", "/exports/orders-latest.csv", auth=operator_auth)
    assert allowed.status == 200 and allowed.text.startswith("diagnostics")


@pytest.mark.parametrize("port_name", ["airflow", "webhook", "flower", "diagnostics"])
@pytest.mark.parametrize("path", ["/exports/orders.csv", "//exports/orders.csv", "/./exports/orders.csv",
                                  "/%65xports/orders.csv", "/EXPORTS/orders.csv", "/exports"])
def test_every_spelling_on_every_port_asks_for_the_operators_login(stack, operator_auth, port_name, path):
    assert stack.request(port_name, path).status == 401
    reply = stack.request(port_name, path, auth=operator_auth)
    assert reply.status == 200 and reply.text.startswith("diagnostics")


def test_wrong_credentials_are_refused(stack):
    assert stack.request("diagnostics", "/exports/orders.csv", auth=("admin", "wrong")).status == 401


def test_a_path_that_only_starts_like_exports_is_not_an_export(stack):
    assert stack.request("airflow", "/exportsfoo").text.startswith("airflow")
