"""Without authentication the status shows a DAG problem's file, line and exception type, never its message;
a GET /deploys/<id> signed for endpoint "status" and that id gets the whole record."""

from __future__ import annotations

import json
import logging

import pytest

from tests.webhook.conftest import KEY, read_status, signed
from webhook.deploy.history import History
from webhook.signing import request_key

MARKER = "private-message-7f3a"
# Fails at import on line 5 with a message only authenticated readers may see.
TALKATIVE_DAG = f'''"""An airflow dag file that fails with a message."""


def fail():
    raise ValueError("{MARKER}")


fail()
'''


@pytest.fixture
def rejected(client, runner, origin, caplog) -> str:
    """The id of a deploy rejected because its DAG raised ValueError(MARKER)."""
    caplog.set_level(logging.INFO, logger="webhook")
    commit = origin.commit({"dags/talkative.py": TALKATIVE_DAG}, "talkative")
    deploy_id = client.post("/webhook", json={"commit": commit}, headers=signed(commit)).json["deploy_id"]
    runner.run_pending()
    return deploy_id


def test_without_authentication_a_problem_is_file_line_and_type(client, rejected):
    record = client.get(f"/deploys/{rejected}").json
    assert record["state"] == "rejected"
    assert record["problems"] == [{"file": "talkative.py", "dag_id": None, "kind": "import_error", "line": 5,
                                   "exception": "ValueError"}]
    assert record["reason"] == "1 DAG problem(s); first: import_error in talkative.py, line 5 (ValueError)"
    assert "detail" not in record
    assert MARKER not in json.dumps(record)


def test_every_unauthenticated_view_leaves_the_message_out(client, rejected, origin):
    views = [client.get("/?format=json"), client.get("/"), client.get(f"/deploys?commit={origin.head()}"),
             client.get(f"/deploys/{rejected}")]
    assert [v.status_code for v in views] == [200] * 4
    assert [v for v in views if MARKER in v.get_data(as_text=True)] == []
    assert "talkative.py, line 5 (ValueError)" in views[1].get_data(as_text=True)


def test_a_signed_read_gets_the_message_and_the_log_has_it(client, rejected, caplog):
    record = read_status(client, rejected)
    assert record["detail"] == f"ValueError: {MARKER}"
    assert MARKER in record["problems"][0]["message"]
    assert record["problems"][0]["line"] == 5
    logged = "\n".join(r.getMessage() for r in caplog.get_records("setup"))  # the deploy ran in the fixture
    assert f"event=dag_problem id={rejected}" in logged and MARKER in logged


@pytest.mark.parametrize("change", ["another key", "another deploy id", "endpoint deploy", "no delivery id",
                                    "replayed"])
def test_a_wrong_signed_read_is_refused_not_downgraded(client, rejected, change):
    headers = signed(rejected, endpoint="status")
    if change == "another key":
        headers = signed(rejected, key="another-key-0123456789", endpoint="status")
    elif change == "another deploy id":
        headers = signed("20260101T000000-abcdef", endpoint="status")
    elif change == "endpoint deploy":
        headers["X-Webhook-Key"] = request_key(KEY, "deploy", rejected, headers["Webhook-Id"],
                                               headers["Webhook-Timestamp"])
    elif change == "no delivery id":
        del headers["Webhook-Id"]
    elif change == "replayed":
        assert client.get(f"/deploys/{rejected}", headers=headers).status_code == 200
    response = client.get(f"/deploys/{rejected}", headers=headers)
    assert response.status_code in (401, 403)
    assert MARKER not in response.get_data(as_text=True)


def test_records_written_before_the_change_are_shown_without_their_message(client, app):
    """Older records carried the message in `reason` and in problems without line or exception."""
    history = History(app.extensions["state"])
    history.append({"id": "20260101T000000-0ld0ld", "kind": "deploy", "commit": "a" * 40, "state": "rejected",
                    "reason": f"1 DAG problem(s); first: import_error in old.py: KeyError: {MARKER}",
                    "problems": [{"file": "old.py", "dag_id": None, "kind": "import_error",
                                  "message": f'  File "old.py", line 3, in <module>\nKeyError: {MARKER}'}]})
    record = client.get("/deploys/20260101T000000-0ld0ld").json
    assert MARKER not in json.dumps(record)
    assert record["reason"] == "1 DAG problem(s); first: import_error in old.py, line 3 (KeyError)"
