"""POST /webhook and /rollback bodies: anything but a small JSON object is a 400 that says what is wrong."""

from __future__ import annotations

import pytest

from tests.webhook.conftest import signed

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(("path", "endpoint", "target"), [("/webhook", "deploy", COMMIT),
                                                           ("/rollback", "rollback", "previous")])
@pytest.mark.parametrize("depth", [2000, 100_000])
def test_deeply_nested_json_is_a_400_naming_the_problem(make_app, caplog, path, endpoint, target, depth):
    # HAProxy lets 1 MiB through; a webhook configured to take as much must still answer 400
    client = make_app(max_body_bytes=1_048_576).test_client()
    body = b"[" * depth + b"]" * depth
    response = client.post(path, data=body, content_type="application/json",
                           headers=signed(target, endpoint=endpoint))
    assert response.status_code == 400
    assert response.json["error"] == "body is nested too deeply"
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text


def test_a_plain_json_array_is_still_refused_as_not_an_object(client):
    response = client.post("/webhook", data=b"[[1]]", content_type="application/json", headers=signed(COMMIT))
    assert (response.status_code, response.json["error"]) == (400, "body must be a JSON object")
