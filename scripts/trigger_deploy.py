#!/usr/bin/env python3
"""Ask the webhook to deploy a commit of `production`, then wait for the deploy's result.

Used by .github/workflows/production_deployment.yml; standard library only, so it runs on any runner.

Environment (secrets come from the environment, never from the command line):
  WEBHOOK_KEY         the webhook key (1Password, webhook/infra_vault.py: password); never sent: each request
                      carries a value derived from it for that request only (webhook/signing.py)  required
  WEBHOOK_ADDRESS     where to POST: the smee channel URL, or the webhook's /webhook URL  required
  WEBHOOK_STATUS_URL  the webhook's public base URL, to follow the deploy (e.g. https://host:8081); reads of
                      the deploy are signed for endpoint "status", so a failure shows the DAG's own message;
                      optional when WEBHOOK_ADDRESS is the webhook itself
  DEPLOY_COMMIT       the commit to deploy (the PR's merge commit)                  required
  DEPLOY_PR           the pull request number (informational)                       optional
Exit status: 0 deployed; 1 the deploy failed, was rejected or rolled back, or timed out; 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

# webhook.signing is standard library only; importing it keeps one definition of the request value.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from webhook.signing import request_key  # noqa: E402

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
GOOD = ("succeeded",)
# "skipped" means the commit is already live (already deployed, or included in a newer deploy).
FINE_IF_SKIPPED = ("already deployed", "already included")
BAD = ("failed", "rejected", "rolled_back")


class Failure(Exception):
    """The deploy did not succeed; the message is the reason shown in the job log."""


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None,
         timeout: float = 15.0) -> tuple[int, dict | None]:
    """One request; returns (status, JSON body or None). Network errors raise OSError."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def new_delivery_id() -> str:
    return f"gha-{os.environ.get('GITHUB_RUN_ID', 'local')}-{uuid.uuid4().hex[:16]}"


def post(address: str, key: str, commit: str, pr: str | None, attempts: int = 3, delay: float = 2.0
         ) -> tuple[str, dict | None]:
    """POST the signed request (a fresh delivery id per attempt); fail on any non-2xx answer."""
    body = {"commit": commit}
    if pr:
        body["pr"] = int(pr)
    last = ""
    for attempt in range(1, attempts + 1):
        delivery_id = new_delivery_id()
        timestamp = int(time.time())
        # the long-lived key never leaves this process: the header carries a value for this request only
        headers = {"Content-Type": "application/json", "Webhook-Id": delivery_id,
                   "Webhook-Timestamp": str(timestamp),
                   "X-Webhook-Key": request_key(key, "deploy", commit, delivery_id, timestamp)}
        try:
            status, answer = http("POST", address, json.dumps(body).encode(), headers)
        except OSError as exc:
            last = f"could not reach {redact(address)}: {exc}"
        else:
            if 200 <= status < 300:
                return delivery_id, answer
            last = f"the webhook answered HTTP {status}: {(answer or {}).get('error', '')}"
            if status < 500:
                break  # 4xx will not change on a retry
        print(f"attempt {attempt}: {last}", file=sys.stderr)
        if attempt < attempts:
            time.sleep(delay * attempt)
    raise Failure(last)


def redact(url: str) -> str:
    """The smee channel URL is a secret (anyone holding it can read the events): show only the host."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…" if parts.hostname else "the webhook"


# a signed read answered 5xx (the key's source or the webhook's state briefly unavailable) is tried again
# before this poll falls back to the public fields, which lack the DAG's own message
SIGNED_READ_ATTEMPTS = 3


class StatusReader:
    """Reads one deploy's record, signed for endpoint "status" so that it includes the DAG's own messages
    (`detail`); unsigned, the webhook shows the public fields only."""

    def __init__(self, status_url: str, key: str):
        self.status_url, self.key = status_url, key
        self.signed = True

    def record(self, deploy_id: str) -> dict | None:
        url = f"{self.status_url}/deploys/{urllib.parse.quote(deploy_id)}"
        if self.signed:
            for attempt in range(SIGNED_READ_ATTEMPTS):
                if attempt:
                    time.sleep(2)
                delivery_id, timestamp = new_delivery_id(), int(time.time())
                status, record = http("GET", url, headers={
                    "Webhook-Id": delivery_id, "Webhook-Timestamp": str(timestamp),
                    "X-Webhook-Key": request_key(self.key, "status", deploy_id, delivery_id, timestamp)})
                if status < 500:
                    break
            if status == 200:
                return record
            if status < 500 and status not in (401, 403):
                return None
            if status >= 500:
                # it could not check the read (it records each one: a full disk, say); the public fields
                # still tell the result, and the reason with it
                status, record = http("GET", url)
                return record if status == 200 else None
            # WEBHOOK_ROLLING_KEY: our POST replaced the key we hold; the public fields still tell the result
            print(f"the webhook refused a signed status read (HTTP {status}); following its public fields",
                  file=sys.stderr)
            self.signed = False
        status, record = http("GET", url)
        return record if status == 200 else None

    def resumed_by(self, record: dict) -> str | None:
        """The deploy a restarted webhook queued to resume an interrupted one (it names it in `resumes`)."""
        status, found = http("GET", f"{self.status_url}/deploys?commit={record.get('commit')}")
        if status == 200 and found:
            for deploy in found.get("deploys") or []:
                if deploy.get("resumes") == record.get("id"):
                    return deploy["id"]
        return None

    def find(self, delivery_id: str, commit: str, deploy_id: str | None) -> dict | None:
        """The deploy to follow: by id, else by delivery id, else any deploy of the commit (the fallback poll)."""
        if deploy_id:
            return self.record(deploy_id)
        for query in (f"delivery={urllib.parse.quote(delivery_id)}", f"commit={commit}"):
            status, found = http("GET", f"{self.status_url}/deploys?{query}")
            if status == 200 and found and found.get("deploys"):
                return self.record(found["deploys"][0]["id"])
        return None


def follow(reader: StatusReader, delivery_id: str, commit: str, deploy_id: str | None, timeout: float,
           interval: float = 2.0) -> dict:
    """Poll until the deploy has a result; follow supersedes and resumes; raise Failure on a bad end."""
    deadline = time.monotonic() + timeout
    last_state = None
    while time.monotonic() < deadline:
        try:
            record = reader.find(delivery_id, commit, deploy_id)
        except OSError as exc:
            print(f"status endpoint unreachable ({exc}); retrying", file=sys.stderr)
            record = None
        if record:
            deploy_id = record["id"]
            state = record.get("state")
            if state != last_state:
                print(f"deploy {deploy_id}: {state} {record.get('stage') or ''} {record.get('reason') or ''}")
                last_state = state
            if state in GOOD:
                return record
            if state == "skipped" and any(r in (record.get("reason") or "") for r in FINE_IF_SKIPPED):
                return record
            if state == "superseded" and record.get("superseded_by"):
                deploy_id = record["superseded_by"]
                continue
            if state == "interrupted":
                if record.get("stage") == "rollback":
                    # it was undoing a bad deploy; the restarted webhook finishes undoing it, never retries it
                    raise Failure(f"deploy {deploy_id} interrupted while rolling back: {record.get('reason')}")
                # a restarted webhook queues it again as a new deploy: follow that one once it appears
                deploy_id = reader.resumed_by(record) or deploy_id
            elif state in BAD or state == "skipped":
                detail = f": {record['detail']}" if record.get("detail") else ""
                raise Failure(f"deploy {deploy_id} {state}: {record.get('reason') or 'no reason given'}{detail}")
        time.sleep(interval)
    raise Failure(f"no result within {timeout:g}s (last state: {last_state or 'never seen by the webhook'})")


def summary(record: dict) -> None:
    """Add a table to the GitHub job summary when running in Actions."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in (record.get("stages") or {}).items())
    with open(path, "a") as fh:
        fh.write("| deploy | commit | result | stages |\n|---|---|---|---|\n")
        fh.write(f"| {record.get('id')} | `{(record.get('commit') or '')[:12]}` | {record.get('state')} | "
                 f"{stages} |\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the result")
    parser.add_argument("--no-wait", action="store_true", help="only send the request")
    parser.add_argument("--retry-delay", type=float, default=2.0,
                        help="seconds before the 2nd POST attempt (then twice that)")
    args = parser.parse_args(argv)
    env = os.environ
    key, address = env.get("WEBHOOK_KEY", ""), env.get("WEBHOOK_ADDRESS", "")
    commit = env.get("DEPLOY_COMMIT", "").lower()
    status_url = env.get("WEBHOOK_STATUS_URL", "").rstrip("/")
    pr = env.get("DEPLOY_PR") or None
    problems = [name for name, value in (("WEBHOOK_KEY", key), ("WEBHOOK_ADDRESS", address)) if not value]
    if not SHA_RE.match(commit):
        problems.append("DEPLOY_COMMIT (a 40-character commit id)")
    if pr and not (pr.isascii() and pr.isdigit()):
        problems.append("DEPLOY_PR (a number)")
    if problems:
        print(f"::error::missing or invalid: {', '.join(problems)}", file=sys.stderr)
        return 2
    try:
        delivery_id, answer = post(address, key, commit, pr, delay=args.retry_delay)
        deploy_id = (answer or {}).get("deploy_id")
        print(f"request accepted (delivery {delivery_id}{', deploy ' + deploy_id if deploy_id else ''})")
        if args.no_wait:
            return 0
        if not status_url:
            if not deploy_id:
                raise Failure("the relay gave no deploy id: set WEBHOOK_STATUS_URL to follow the deploy")
            status_url = address.rsplit("/webhook", 1)[0]
        record = follow(StatusReader(status_url, key), delivery_id, commit, deploy_id, args.timeout)
    except Failure as exc:
        print(f"::error::{exc}", file=sys.stderr)
        return 1
    summary(record)
    print(f"deployed {commit[:12]} as {record['id']} ({record.get('state')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
