"""opconnect.secrets (the strict interface) against the fake Connect server: values, cache, masking, every error."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from airflow.sdk._shared.secrets_masker import SecretsMasker, _secrets_masker, redact, reset_secrets_masker

from devtools.fake_onepassword import FakeConnect
from devtools.onepassword_store import Store
from opconnect.client import clear_cache
from opconnect.errors import ConnectError, DuplicateItemError, SecretNotFoundError, SecretSpecError
from opconnect.secrets import get_item_by_title, get_secret, load_dict, set_secret
from opconnect.settings import ConnectSettings
from stacktest.vaults import EXAMPLE_ITEMS, TOKEN, VAULT_ID

WEATHER = "Diagnostic ETL (Weather)"
WEBHOOK_KEY = "development-webhook-key-not-secret"


@pytest.fixture(autouse=True)
def fresh_state():
    """Each test starts with no cached items and an empty secrets masker."""
    clear_cache()
    reset_secrets_masker()
    yield
    clear_cache()
    reset_secrets_masker()


def one_vault_example() -> Store:
    """The example vaults as one vault: these tests exercise reading, not which vault an item lives in."""
    document = json.loads(EXAMPLE_ITEMS.read_text())
    items = [item for vault in document["vaults"] for item in vault["items"]]
    return Store({"vaults": [{"id": VAULT_ID, "name": "Airflow", "items": items}]})


@pytest.fixture
def fake_connect(fake_slack, monkeypatch):
    monkeypatch.setenv("FAKE_SLACK_URL", fake_slack.url)
    with FakeConnect(one_vault_example(), TOKEN) as server:
        yield server


@pytest.fixture
def settings(fake_connect):
    return ConnectSettings(url=fake_connect.url, token=TOKEN, vault=VAULT_ID, timeout=2, backoff=0.001)


def all_example_values() -> list[str]:
    document = json.loads(EXAMPLE_ITEMS.read_text())
    fields = [field for vault in document["vaults"] for item in vault["items"] for field in item["fields"]]
    return [field["value"] for field in fields if len(field["value"]) > 5]


def test_get_secret_reads_sectioned_and_section_less_fields(settings):
    assert get_secret(WEATHER, "production.demonstration secret", settings) == \
        "production demonstration value"
    assert get_secret("Airflow Webhook", ".password", settings) == WEBHOOK_KEY
    assert get_secret("Airflow Webhook", "password", settings) == WEBHOOK_KEY
    assert get_secret("Airflow Webhook", "smee.address", settings).startswith("https://smee.io/")


def test_load_dict_keeps_the_seed_shape_and_fetches_each_item_once(settings, fake_connect):
    values = load_dict({
        "DEV": {"opitem": WEATHER, "opfield": "development.demonstration secret"},
        "PROD": {"opitem": WEATHER, "opfield": "production.demonstration secret"},
        "KEY": {"opitem": "Airflow Webhook", "opfield": ".password"},
    }, settings)
    assert values == {"DEV": "development demonstration value", "PROD": "production demonstration value",
                      "KEY": WEBHOOK_KEY}
    # one title search and one read per item
    assert len(fake_connect.requests) == 4


def test_items_are_cached_until_the_ttl_runs_out(settings, fake_connect):
    get_secret("Airflow Webhook", ".password", settings)
    get_secret("Airflow Webhook", "smee.address", settings)
    assert len(fake_connect.requests) == 2
    expired = ConnectSettings(url=fake_connect.url, token=TOKEN, vault=VAULT_ID, cache_ttl=0)
    get_secret("Airflow Webhook", ".password", expired)
    get_secret("Airflow Webhook", ".password", expired)
    assert len(fake_connect.requests) == 6


def test_returned_values_are_redacted_by_airflows_masker(settings, caplog):
    value = get_secret(WEATHER, "development.demonstration secret", settings)
    assert redact(f"value={value}") == "value=***"
    was_enabled = SecretsMasker.is_log_masking_enabled()
    SecretsMasker.enable_log_masking()
    caplog.handler.addFilter(_secrets_masker())
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("a.dag.task").info("connecting with %s", value)
    finally:
        caplog.handler.removeFilter(_secrets_masker())
        if not was_enabled:
            SecretsMasker.disable_log_masking()
    assert value not in caplog.text
    assert "connecting with ***" in caplog.text


def test_get_item_by_title_masks_concealed_fields_only(settings):
    item = get_item_by_title("Airflow Webhook", settings)
    values = {f.label: f.value for f in item.fields}
    assert redact(values["password"]) == "***"
    assert redact(values["address"]) == values["address"]  # a URL field is not a secret


def test_set_secret_rolls_a_value_and_the_next_read_sees_it(settings, fake_connect):
    assert get_secret("Airflow Webhook", ".password", settings)  # now cached
    set_secret("Airflow Webhook", ".password", "rolled-webhook-key-42", settings)
    assert get_secret("Airflow Webhook", ".password", settings) == "rolled-webhook-key-42"
    item_id = get_item_by_title("Airflow Webhook", settings).id
    assert ("PATCH", f"/v1/vaults/{VAULT_ID}/items/{item_id}") in fake_connect.requests


MALFORMED = [
    ("Airflow Webhook", r"secret 'KEY': spec must be a dict"),
    ({"opitem": "Airflow Webhook"}, r"secret 'KEY': opfield must be a non-empty string"),
    ({"opitem": "", "opfield": ".password"}, r"secret 'KEY': opitem must be a non-empty string"),
    ({"opitem": "Airflow Webhook", "opfield": ".password", "opvault": "x"},
     r"secret 'KEY': unknown key\(s\) opvault"),
    ({"opitem": "Airflow Webhook", "opfield": "smee."}, r"secret 'KEY': field 'smee.' has no field label"),
    ({"opitem": 'Say "hi"', "opfield": ".x"}, r"secret 'KEY': item title 'Say \"hi\"' contains a double"),
]


@pytest.mark.parametrize(("spec", "message"), MALFORMED)
def test_malformed_specs_are_named_before_any_request(settings, fake_connect, spec, message):
    with pytest.raises(SecretSpecError, match=message):
        load_dict({"KEY": spec}, settings)
    assert fake_connect.requests == []


def test_required_secrets_must_be_a_dict(settings):
    with pytest.raises(SecretSpecError, match="required_secrets must be a dict, got list"):
        load_dict([("KEY", {})], settings)


def test_missing_item_names_item_and_vault(settings):
    with pytest.raises(SecretNotFoundError, match=f"no item titled 'Nope' in vault '{VAULT_ID}'"):
        get_secret("Nope", ".password", settings)


def test_missing_field_names_item_field_and_vault_but_no_value(settings):
    with pytest.raises(SecretNotFoundError) as raised:
        get_secret(WEATHER, "staging.demonstration secret", settings)
    message = str(raised.value)
    assert f"item '{WEATHER}' in vault '{VAULT_ID}' has no field 'demonstration secret' " \
           "in section 'staging'" in message
    assert "exists in section(s) development, production" in message
    assert not any(value in message for value in all_example_values())


def test_duplicate_titles_are_reported_as_such():
    items = [{"title": "Twin", "fields": [{"label": "a", "value": "first-value"}]},
             {"title": "Twin", "fields": [{"label": "a", "value": "second-value"}]}]
    with FakeConnect(Store({"vaults": [{"id": VAULT_ID, "name": "V", "items": items}]}), TOKEN) as server:
        with pytest.raises(DuplicateItemError, match="2 items are titled 'Twin'.*must be unique") as raised:
            get_secret("Twin", ".a", ConnectSettings(url=server.url, token=TOKEN, vault=VAULT_ID))
    assert "first-value" not in str(raised.value)


def test_wrong_token_is_401_and_not_retried(fake_connect):
    wrong = ConnectSettings(url=fake_connect.url, token="wrong", vault=VAULT_ID, backoff=0.001)
    with pytest.raises(ConnectError, match=r"at http://127\.0\.0\.1:\d+ refused .* \(HTTP 401: Invalid"):
        get_secret("Airflow Webhook", ".password", wrong)
    assert len(fake_connect.requests) == 1


def test_vault_without_access_is_403(fake_connect):
    other = ConnectSettings(url=fake_connect.url, token=TOKEN, vault="z" * 26, backoff=0.001)
    with pytest.raises(ConnectError, match="HTTP 403: Authorization: token does not have access to vault"):
        get_secret("Airflow Webhook", ".password", other)


def test_json_404_is_reported_with_connects_message(settings, fake_connect):
    fake_connect.fail_next(404, '{"status": 404, "message": "vault not found"}', "application/json")
    with pytest.raises(ConnectError, match=r"refused the search .* \(HTTP 404: vault not found\)"):
        get_secret("Airflow Webhook", ".password", settings)


def test_non_json_500_is_retried_then_reported_with_the_url(settings, fake_connect):
    fake_connect.fail_next(500, "<html>proxy error</html>", "text/html", times=3)
    with pytest.raises(ConnectError) as raised:
        get_secret("Airflow Webhook", ".password", settings)
    assert f"1Password Connect at {fake_connect.url} did not answer" in str(raised.value)
    assert "after 3 attempt(s) (last: HTTP 500: non-JSON body '<html>proxy error</html>')" in str(raised.value)
    assert len(fake_connect.requests) == 3


def test_a_transient_failure_is_retried_and_then_succeeds(settings, fake_connect):
    fake_connect.fail_next(503, "busy", "text/plain")
    assert get_secret("Airflow Webhook", ".password", settings) == WEBHOOK_KEY


def test_timeouts_are_retried_then_reported(fake_connect):
    fake_connect.delay = 0.3
    slow = ConnectSettings(url=fake_connect.url, token=TOKEN, vault=VAULT_ID, timeout=0.05, attempts=2,
                    backoff=0.001)
    with pytest.raises(ConnectError, match=r"after 2 attempt\(s\) \(last: ReadTimeout"):
        get_secret("Airflow Webhook", ".password", slow)


def test_unreachable_connect_fails_after_retries_naming_the_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # bound but not listening: connection refused
        down = ConnectSettings(url=url, token=TOKEN, vault=VAULT_ID, attempts=3, backoff=0.001)
        expected = rf"1Password Connect at {url} did not answer .* after 3 attempt\(s\) \(last: ConnectError"
        with pytest.raises(ConnectError, match=expected):
            get_secret("Airflow Webhook", ".password", down)
