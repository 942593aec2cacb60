"""Property-based fuzzing of the endpoints: random requests never cause a 5xx, nothing is deployed or rolled
back without the per-request value for exactly that endpoint, target, delivery id and time, and a DAG's message
is shown only to a status read signed for that deploy."""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.webhook.conftest import KEY, signed
from webhook.deploy.history import History
from webhook.signing import ENDPOINTS, request_key

COMMIT = "0123456789abcdef0123456789abcdef01234567"
HEADER_NAMES = ["X-Webhook-Key", "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature", "Content-Type",
                "timestamp", "X-Request-Id", "Content-Encoding"]
# Header values must be latin-1 text without line breaks to be sendable at all.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\r\n\x7f"),
                      max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"commit": st.one_of(st.just(COMMIT), st.text(max_size=45), json_values)},
                          optional={"pr": json_values, "to": json_values})
    .map(lambda v: json.dumps(v).encode()),
)


def signed_for(draw, targets: list[str]) -> dict:
    """Headers signed for one of `targets` and for one endpoint, possibly another's (a captured request,
    re-pointed)."""
    endpoint = draw(st.sampled_from(ENDPOINTS))
    return signed(draw(st.sampled_from(targets)), delivery_id=f"fuzz-{draw(st.uuids()).hex}", endpoint=endpoint)


def damaged(draw, headers: dict) -> dict:
    """Some headers removed or replaced."""
    for name in draw(st.lists(st.sampled_from(HEADER_NAMES), max_size=3)):
        if draw(st.booleans()):
            headers.pop(name, None)
        else:
            headers[name] = draw(header_text)
    return headers


@st.composite
def requests(draw):
    """Random headers, sometimes starting from a correctly signed request and then damaging it."""
    signed_start = draw(st.booleans())
    if signed_start:
        headers = damaged(draw, signed_for(draw, [COMMIT]))
    else:
        headers = draw(st.dictionaries(st.sampled_from(HEADER_NAMES), header_text, max_size=6))
    # Mostly the trigger, since that is where the risk is; the other routes now and then.
    path = draw(st.sampled_from(["/webhook"] * 6 + ["/rollback"] * 2 + ["/", "/metrics", "/deploys/x"]))
    method = draw(st.sampled_from(["POST"] * 8 + ["GET", "PUT", "DELETE"]))
    if signed_start and draw(st.booleans()):
        return method, path, headers, json.dumps({"commit": COMMIT, "to": COMMIT}).encode()
    return method, path, headers, draw(bodies)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
@given(request=requests())
def test_random_requests_never_5xx_and_never_deploy_without_the_key(app, client, request):
    method, path, headers, body = request
    history = History(app.extensions["state"])
    before = len(history.deploys())
    response = client.open(path, method=method, headers=headers, data=body)
    event(f"status {response.status_code}")
    assert response.status_code < 500, response.data
    queued = len(history.deploys()) - before
    endpoint = {"/webhook": "deploy", "/rollback": "rollback"}.get(path)
    authentic = method == "POST" and endpoint is not None and valid_value(headers, endpoint, body)
    if not authentic:
        assert queued == 0
        assert response.status_code not in (200, 202) or method == "GET" or path in ("/", "/healthz")
    if response.status_code == 202:
        assert queued == 1 and authentic
        assert abs(int(headers["Webhook-Timestamp"]) - time.time()) <= 300


def valid_value(headers: dict, endpoint: str, body: bytes) -> bool:
    """Whether X-Webhook-Key is the value for this endpoint, the body's target, delivery id and time."""
    try:
        target = json.loads(body)["commit" if endpoint == "deploy" else "to"]
        expected = request_key(KEY, endpoint, str(target), headers["Webhook-Id"], headers["Webhook-Timestamp"])
    except (ValueError, KeyError, TypeError):
        return False
    return headers.get("X-Webhook-Key") == expected


SEEDED = "20260101T000000-5eed00"
MESSAGE = "message-only-for-signed-readers"


@st.composite
def status_reads(draw):
    """GET of one deploy's status, sometimes signed (for the right or a wrong endpoint or id), then damaged."""
    signed_start = draw(st.booleans())
    headers = damaged(draw, signed_for(draw, [SEEDED, COMMIT, "20260101T000000-000000"]) if signed_start else {})
    path = draw(st.sampled_from([f"/deploys/{SEEDED}", f"/deploys?commit={COMMIT}", "/?format=json", "/"]))
    return path, headers


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(read=status_reads())
def test_random_status_reads_show_a_dag_message_only_when_signed_for_that_deploy(app, client, read):
    path, headers = read
    history = History(app.extensions["state"])
    if history.get(SEEDED) is None:
        history.append({"id": SEEDED, "kind": "deploy", "commit": COMMIT, "state": "rejected",
                        "reason": "1 DAG problem(s); first: import_error in x.py", "detail": MESSAGE,
                        "problems": [{"file": "x.py", "kind": "import_error", "message": MESSAGE}]})
    response = client.get(path, headers=headers)
    event(f"status {response.status_code}")
    assert response.status_code < 500, response.data
    if MESSAGE in response.get_data(as_text=True):
        event("message shown")
        assert path == f"/deploys/{SEEDED}"
        assert headers.get("X-Webhook-Key") == request_key(KEY, "status", SEEDED, headers.get("Webhook-Id", ""),
                                                          headers.get("Webhook-Timestamp", ""))
