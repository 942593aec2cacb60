"""GET /metrics: Prometheus text, the same numbers from every worker (computed from shared files)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from stacktest.gitrepo import BROKEN_DAG
from tests.webhook.conftest import signed


def samples(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.data.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_before_any_deploy(client):
    values = samples(client)
    assert values[("webhook_deploys_total", (("kind", "deploy"), ("result", "succeeded")))] == 0
    assert values[("webhook_deploy_last_success_timestamp_seconds", ())] == 0
    assert values[("webhook_deploy_duration_seconds_count", ())] == 0


def test_metrics_count_results_and_latency_across_workers(make_app, runner, origin):
    first, second = make_app().test_client(), make_app().test_client()
    good = origin.head()
    first.post("/webhook", json={"commit": good}, headers=signed(good))
    runner.run_pending()
    bad = origin.commit({"dags/broken.py": BROKEN_DAG})
    first.post("/webhook", json={"commit": bad}, headers=signed(bad))
    runner.run_pending()
    values = samples(second)  # another worker sees the same numbers
    assert values[("webhook_deploys_total", (("kind", "deploy"), ("result", "succeeded")))] == 1
    assert values[("webhook_deploys_total", (("kind", "deploy"), ("result", "rejected")))] == 1
    assert values[("webhook_deploy_duration_seconds_count", ())] == 2
    assert values[("webhook_deploy_duration_seconds_bucket", (("le", "+Inf"),))] == 2
    assert values[("webhook_deploy_last_success_timestamp_seconds", ())] > 0
    assert values[("webhook_deployed_commit_info", (("commit", good),))] == 1
    assert values[("webhook_deploys_in_progress", ())] == 0
