"""TLS_CERT_PATH switches on the https port: routing by Host, HSTS, redirects of the production names."""

import pytest

FLOWER = "flower.example.test"
AIRFLOW = "airflow.example.test"
WEBHOOK = "webhook.example.test"


def https(stack, path="/", **kwargs):
    return stack.request("https", path, tls_context=stack.tls_context, **kwargs)


def test_https_flower_host_needs_credentials(tls_stack, operator_auth):
    assert https(tls_stack, host=FLOWER).status == 401
    reply = https(tls_stack, host=FLOWER, auth=operator_auth)
    assert (reply.status, reply.text) == (200, "flower")
    assert reply.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize("host", [AIRFLOW, "unknown.example", "127.0.0.1"])
def test_https_defaults_to_airflow_and_says_so(tls_stack, host):
    reply = https(tls_stack, "/api/v2/version", host=host)
    assert (reply.status, reply.text) == (200, "airflow")
    assert tls_stack.backends["airflow"].client_requests()[-1].headers["x-forwarded-proto"] == "https"


def test_https_refuses_execution_api(tls_stack):
    assert https(tls_stack, "/execution/health", host=AIRFLOW).status == 403


def test_https_webhook_host_is_rate_limited_too(tls_stack):
    statuses = [https(tls_stack, "/webhook", method="POST", body=b"{}", host=WEBHOOK, source="127.0.0.4")
                .status for _ in range(31)]
    assert statuses[-1] == 429
    assert statuses[:30] == [200] * 30


def test_plain_http_production_names_are_redirected(tls_stack):
    reply = tls_stack.request("airflow", "/dags?x=1", host=AIRFLOW)
    assert reply.status == 301
    assert reply.headers["location"] == f"https://{AIRFLOW}/dags?x=1"
    # 308 keeps the method and body of a POST.
    assert tls_stack.request("webhook", "/webhook", method="POST", body=b"{}", host=WEBHOOK).status == 308


def test_plain_http_without_a_production_name_is_served(tls_stack):
    # The relay posts to haproxy:8081 inside the compose network; that must keep working.
    reply = tls_stack.request("webhook", "/webhook", method="POST", body=b"{}", source="127.0.0.5")
    assert (reply.status, reply.text) == (200, "webhook")
