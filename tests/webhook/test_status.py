"""Health, status page (HTML and JSON) and per-deploy status for the trigger script."""

from __future__ import annotations

from tests.webhook.conftest import signed
from webhook import create_app


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_starts_with_nothing_configured_and_says_so(tmp_path):
    client = create_app({"state_dir": tmp_path, "start_runner": False}).test_client()
    assert client.get("/healthz").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and b"not configured" in page.data
    response = client.post("/webhook", json={"commit": "a" * 40})
    assert response.status_code == 503
    assert "deploys not configured" in response.json["error"]


def test_status_is_html_for_browsers_and_json_when_asked(client):
    html = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert html.content_type.startswith("text/html")
    assert b"Deployed commit" in html.data
    data = client.get("/", headers={"Accept": "application/json"}).json
    assert data["branch"] == "production"
    assert data["deployed_commit"] is None
    assert data["deploys"] == []
    assert data["restart"]["required"] is False
    assert client.get("/?format=json").is_json


def test_status_shows_a_finished_deploy(client, origin, runner):
    commit = origin.head()
    queued = client.post("/webhook", json={"commit": commit, "pr": 7}, headers=signed(commit))
    runner.run_pending()
    data = client.get("/", headers={"Accept": "application/json"}).json
    assert data["deployed_commit"] == commit
    last = data["deploys"][0]
    assert last["id"] == queued.json["deploy_id"]
    assert last["state"] == "succeeded" and last["pr"] == 7 and last["author"] == "Ada Tester"
    assert set(last["stages"]) >= {"fetch", "check", "validate", "publish"}
    html = client.get("/").data.decode()
    assert commit[:12] in html and "succeeded" in html
    one = client.get(queued.json["status_url"])
    assert one.status_code == 200 and one.json["state"] == "succeeded"


def test_unknown_deploy_is_404(client):
    assert client.get("/deploys/20260101T000000-abcdef").status_code == 404
    assert client.get("/deploys/" + "x" * 100).status_code == 404


def test_relay_event_is_shown(client, origin):
    commit = origin.head()
    # smee-client adds a `timestamp` header (milliseconds) to what it forwards.
    headers = {**signed(commit), "timestamp": "1795290539685"}
    client.post("/webhook", json={"commit": commit}, headers=headers)
    relay = client.get("/?format=json").json["relay"]
    assert relay["via_relay"] is True and relay["outcome"] == "accepted"
    assert relay["relay_timestamp"] == 1795290539.685


def test_every_response_carries_a_request_id(client):
    response = client.get("/healthz", headers={"X-Request-Id": "from-haproxy-1"})
    assert response.headers["X-Request-Id"] == "from-haproxy-1"
    generated = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert generated.headers["X-Request-Id"] != "bad id with spaces"


def test_deploys_can_be_found_by_delivery_id_and_commit(client, origin):
    commit = origin.head()
    headers = signed(commit, delivery_id="gh-run-123-attempt-1")
    deploy_id = client.post("/webhook", json={"commit": commit}, headers=headers).json["deploy_id"]
    by_delivery = client.get("/deploys?delivery=gh-run-123-attempt-1").json["deploys"]
    assert [d["id"] for d in by_delivery] == [deploy_id]
    assert [d["id"] for d in client.get(f"/deploys?commit={commit}").json["deploys"]] == [deploy_id]
    assert client.get("/deploys?delivery=unknown-delivery").json["deploys"] == []
    assert client.get("/deploys").status_code == 400
    assert client.get("/deploys?commit=abc").status_code == 400


def test_a_malformed_relay_timestamp_is_ignored(client):
    """Found by the fuzz test: a non-ASCII digit once crashed the relay bookkeeping."""
    response = client.post("/webhook", json={"commit": "a" * 40}, headers={"timestamp": "¹"})
    assert response.status_code == 401
    assert client.get("/?format=json").json["relay"]["relay_timestamp"] is None


def test_a_deploys_warnings_are_shown_one_line_each(app, client):
    """Deploy-policy warnings (webhook/deploy/problems.warnings: the webhook's words, a file and a dag_id)."""
    from webhook.deploy.history import History
    warnings = ["dags/a.py: DAG a has no tags (policy: tags: warn)", "and 3 more warnings"]
    History(app.extensions["state"]).append({"id": "20261129T000000-abcdef", "kind": "deploy", "commit": "a" * 40,
                                             "state": "succeeded", "warnings": warnings})
    assert client.get("/?format=json").json["deploys"][0]["warnings"] == warnings
    assert client.get("/deploys/20261129T000000-abcdef").json["warnings"] == warnings
    html = client.get("/").data.decode()
    assert '<div class="warning">warning: dags/a.py: DAG a has no tags (policy: tags: warn)</div>' in html
    assert '<div class="warning">warning: and 3 more warnings</div>' in html


def test_bootstrap_drift_is_shown_by_object_and_line_without_its_values(app, client):
    """bootstrapfile.deployed: the public page names what drifted; the values stay in the full record."""
    from webhook.deploy.history import History
    History(app.extensions["state"]).append({
        "id": "20261129T000001-abcdef", "kind": "deploy", "commit": "b" * 40, "state": "succeeded",
        "bootstrap": {"drift": ["pool 'warehouse' (line 13): slots is 7 in Airflow, 2 in the file"]},
        "bootstrap_drift": ["dags/bootstrap.yaml pool 'warehouse' (line 13)"]})
    html = client.get("/").data.decode()
    assert ('<div class="warning">drift: dags/bootstrap.yaml pool &#39;warehouse&#39; (line 13) changed in '
            'Airflow by hand, left as it is</div>') in html
    assert "slots is 7" not in html and "bootstrap" not in client.get("/?format=json").json["deploys"][0]
