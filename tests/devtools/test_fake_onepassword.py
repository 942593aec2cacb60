"""The fake Connect server answers like the real API, as seen through the official SDK and plain HTTP."""

from __future__ import annotations

import subprocess
import sys

import httpx
import onepasswordconnectsdk
import pytest
from onepasswordconnectsdk.errors import FailedToRetrieveItemException, FailedToRetrieveVaultException

from devtools.fake_onepassword import FakeConnect
from devtools.onepassword_store import Store
from stacktest.vaults import EXAMPLE_ITEMS, INFRA_TOKEN, INFRA_VAULT_ID, TOKEN, VAULT_ID, VAULT_NAME


def client(server, token=TOKEN):
    return onepasswordconnectsdk.new_client(server.url, token)


def test_heartbeat_and_health_sit_at_the_root_and_need_no_token(fake_connect):
    heartbeat = httpx.get(fake_connect.url + "/heartbeat")
    assert (heartbeat.status_code, heartbeat.text) == (200, ".")
    health = httpx.get(fake_connect.url + "/health")
    assert health.json()["name"] == "1Password Connect API"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_api_refuses_missing_or_wrong_bearer_tokens_with_json_401(fake_connect, headers):
    response = httpx.get(fake_connect.url + "/v1/vaults", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"status": 401, "message": "Invalid token signature"}


def test_sdk_reads_the_example_vault_by_name_and_title(fake_connect):
    sdk = client(fake_connect)
    [vault] = sdk.get_vaults()
    assert (vault.id, vault.name, vault.items) == (VAULT_ID, VAULT_NAME, 4)
    item = sdk.get_item("Diagnostic ETL (Weather)", VAULT_NAME)
    assert item.vault.id == VAULT_ID
    assert [s.label for s in item.sections] == ["development", "production"]
    values = onepasswordconnectsdk.load_dict(sdk, {
        "dev": {"opitem": "Diagnostic ETL (Weather)", "opfield": "development.demonstration secret",
                "opvault": VAULT_ID},
        "prod": {"opitem": "Diagnostic ETL (Weather)", "opfield": "production.demonstration secret",
                 "opvault": VAULT_ID},
    })
    assert values == {"dev": "development demonstration value", "prod": "production demonstration value"}


def test_each_token_reaches_only_its_own_vault(fake_connect):
    """Like Connect: the DAG token cannot see the infrastructure vault, nor the infrastructure token the DAG one."""
    assert [v.id for v in client(fake_connect).get_vaults()] == [VAULT_ID]
    assert [v.id for v in client(fake_connect, INFRA_TOKEN).get_vaults()] == [INFRA_VAULT_ID]
    assert client(fake_connect, INFRA_TOKEN).get_item("Airflow Webhook", INFRA_VAULT_ID).vault.id == INFRA_VAULT_ID
    for token, vault in ((TOKEN, INFRA_VAULT_ID), (INFRA_TOKEN, VAULT_ID)):
        response = httpx.get(f"{fake_connect.url}/v1/vaults/{vault}/items",
                             headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403


def test_the_command_line_scopes_the_stack_tokens_from_the_environment():
    from devtools.fake_onepassword import parse_tokens, tokens_from_env
    env = {"OP_API_TOKEN": "dag", "OP_VAULT_ID": VAULT_ID, "OP_INFRA_TOKEN": "infra", "OP_INFRA_VAULT_ID": "iv"}
    assert parse_tokens(tokens_from_env(env)) == {"dag": frozenset({VAULT_ID}), "infra": frozenset({"iv"})}
    assert parse_tokens(["all"]) == {"all": None}


def test_placeholders_in_the_items_file_come_from_the_environment(fake_connect, fake_slack):
    item = client(fake_connect).get_item("connections/slack", VAULT_ID)
    assert f'"{fake_slack.url}/services/' in item.fields[0].value


def test_a_placeholder_without_its_variable_is_named(monkeypatch):
    monkeypatch.delenv("FAKE_SLACK_URL", raising=False)
    with pytest.raises(ValueError, match=r"connections/slack.*FAKE_SLACK_URL is not set"):
        Store.from_file(EXAMPLE_ITEMS)


def test_unknown_vault_is_403_and_unknown_item_is_404_in_connect_shapes(fake_connect):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    vault = httpx.get(f"{fake_connect.url}/v1/vaults/{'x' * 26}/items", headers=headers)
    assert vault.status_code == 403
    assert vault.json() == {"status": 403, "message": "Authorization: token does not have access to vault"}
    item = httpx.get(f"{fake_connect.url}/v1/vaults/{VAULT_ID}/items/{'y' * 26}", headers=headers)
    assert (item.status_code, item.json()["status"]) == (404, 404)
    with pytest.raises(FailedToRetrieveItemException, match="Found 0 items"):
        client(fake_connect).get_item("No such item", VAULT_ID)


def test_duplicate_titles_are_listed_twice_so_the_sdk_refuses_them():
    items = [{"title": "Twin", "fields": [{"label": "a", "value": "1"}]},
             {"title": "Twin", "fields": [{"label": "a", "value": "2"}]}]
    with FakeConnect(Store({"vaults": [{"id": VAULT_ID, "name": "V", "items": items}]}), TOKEN) as server:
        assert len(client(server).get_items(VAULT_ID, 'title eq "Twin"')) == 2
        with pytest.raises(FailedToRetrieveItemException, match="Found 2 items"):
            client(server).get_item("Twin", VAULT_ID)


def test_put_replaces_the_item_and_bumps_its_version(fake_connect):
    sdk = client(fake_connect, INFRA_TOKEN)
    item = sdk.get_item("Airflow Webhook", INFRA_VAULT_ID)
    item.fields[0].value = "rolled-key-0001"
    updated = sdk.update_item(item.id, INFRA_VAULT_ID, item)
    assert updated.version == item.version + 1
    assert sdk.get_item(item.id, INFRA_VAULT_ID).fields[0].value == "rolled-key-0001"


def test_patch_replaces_one_field_value_and_rejects_unknown_paths(fake_connect):
    sdk = client(fake_connect, INFRA_TOKEN)
    item = sdk.get_item("Airflow Webhook", INFRA_VAULT_ID)
    url = f"{fake_connect.url}/v1/vaults/{INFRA_VAULT_ID}/items/{item.id}"
    headers = {"Authorization": f"Bearer {INFRA_TOKEN}"}
    ok = httpx.patch(url, headers=headers,
                     json=[{"op": "replace", "path": "/fields/password/value", "value": "rolled-key-0002"}])
    assert ok.status_code == 200
    assert [f["value"] for f in ok.json()["fields"] if f["id"] == "password"] == ["rolled-key-0002"]
    bad = httpx.patch(url, headers=headers, json=[{"op": "move", "path": "/vault"}])
    assert bad.status_code == 400
    assert "unsupported patch operation" in bad.json()["message"]


def test_injected_faults_answer_raw_bodies_then_service_resumes(fake_connect):
    fake_connect.fail_next(500, "<html>upstream broke</html>", "text/html")
    sdk = client(fake_connect)
    with pytest.raises(ValueError):  # the SDK calls .json() on error bodies; a non-JSON one breaks it
        sdk.get_vaults()
    assert sdk.get_vaults()[0].id == VAULT_ID
    with pytest.raises(FailedToRetrieveVaultException):
        client(fake_connect, token="wrong").get_vaults()


def test_command_line_serves_the_items_file_on_the_given_port(fake_slack):
    env = {"FAKE_SLACK_URL": fake_slack.url, "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.fake_onepassword", "--items", str(EXAMPLE_ITEMS), "--port", "0",
         "--token", "cli-token"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        banner = process.stdout.readline()
        url = banner.split(" on ")[1].split(";")[0]
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(url + "/v1/vaults", headers={"Authorization": "Bearer cli-token"})
        assert response.json()[0]["name"] == VAULT_NAME
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_command_line_without_a_token_exits_with_a_reason(monkeypatch):
    monkeypatch.delenv("OP_API_TOKEN", raising=False)
    result = subprocess.run([sys.executable, "-m", "devtools.fake_onepassword", "--items", str(EXAMPLE_ITEMS),
                             "--port", "0"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--token (or OP_API_TOKEN) is required" in result.stderr
