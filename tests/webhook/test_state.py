"""The state database: created private, and a deploy folder of the previous version (JSON lines and files)
migrated on first start, with the same status page, metrics and rollback pin as before."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from tests.webhook.conftest import signed
from tests.webhook.test_metrics import samples
from webhook.deploy.history import RESULTS
from webhook.deploy.state import FILE, Database

# A deploy folder written by the previous version (webhook/deploy/history.py before the database): four deploys
# (succeeded, rejected, succeeded, a rollback that succeeded), one left running by a crash, a torn last line,
# the rollback's pin.json, relay.json, baseline and the replay store deliveries.sqlite.
OLD = Path(__file__).parent / "data" / "old_state"


def old_deploys() -> list[dict]:
    """What the previous version made of its file: the last snapshot of each id wins, torn lines skipped."""
    latest: dict[str, dict] = {}
    for line in (OLD / "history.jsonl").read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        latest[record["id"]] = {**latest.get(record["id"], {}), **record}
    return list(latest.values())


def test_the_database_is_private_to_the_stack_user(tmp_path):
    db = Database(tmp_path / "deploy")
    db.set_fact("x", 1)
    for name in (FILE, FILE + "-wal", FILE + "-shm"):
        assert stat.S_IMODE(os.stat(tmp_path / "deploy" / name).st_mode) & 0o037 == 0, name


def test_an_old_deploy_folder_is_migrated_on_first_start(tmp_path, make_app, make_runner, origin):
    folder = tmp_path / "state" / "deploy"
    shutil.copytree(OLD, folder)
    old = old_deploys()
    assert len(old) == 5 and old[-1]["state"] == "running"

    app = make_app()
    client, runner = app.test_client(), make_runner(app)
    page = client.get("/?format=json").json
    assert page["deploys"] == [client.get(f"/deploys/{d['id']}").json for d in reversed(old)]
    assert [d["state"] for d in page["deploys"]] == ["running", "succeeded", "succeeded", "rejected", "succeeded"]
    assert page["relay"]["received_at"] == json.loads((OLD / "relay.json").read_text())["received_at"]
    assert page["restart"]["since"] == (OLD / "baseline").read_text().strip()

    # /metrics gives what the previous version computed from its file
    values = samples(client)
    finished = [d for d in old if d["state"] in RESULTS]
    for kind in ("deploy", "rollback"):
        for result in RESULTS:
            expected = sum(1 for d in finished if d.get("kind", "deploy") == kind and d["state"] == result)
            assert values[("webhook_deploys_total", (("kind", kind), ("result", result)))] == expected
    assert values[("webhook_deploy_duration_seconds_sum", ())] == sum(
        d["finished_at"] - d["requested_at"] for d in finished)
    assert values[("webhook_deploy_last_success_timestamp_seconds", ())] == max(
        d["finished_at"] for d in finished if d["state"] == "succeeded")
    assert values[("webhook_deploys_in_progress", ())] == 1
    assert values[("webhook_auth_failures_total", (("reason", "bad_request"),))] == 1

    # a delivery id the old replay store had seen is still refused
    used = next(d["delivery_id"] for d in old if d.get("delivery_id"))
    commit = origin.head()
    response = client.post("/webhook", json={"commit": commit}, headers=signed(commit, delivery_id=used))
    assert response.status_code == 403

    # the rollback's pin still stops the poll from redeploying origin's tip
    pin = json.loads((OLD / "pin.json").read_text())
    assert runner.ctx.pin.get() == pin and runner.ctx.pin.blocks(pin["origin_tip"])

    # the deploy the crash left running is interrupted on the runner's start, as before
    runner.recover()
    assert client.get(f"/deploys/{old[-1]['id']}").json["state"] == "interrupted"

    # the old files: the history kept for people, the rest gone; a second start migrates nothing again
    names = {p.name for p in folder.iterdir()}
    assert "history.jsonl.migrated" in names
    assert names & {"history.jsonl", "pin.json", "relay.json", "baseline", "deliveries.sqlite", "deploy.lock"} == set()
    before = client.get("/?format=json").json["deploys"]
    assert len(before) == 6 and before[0]["resumes"] == old[-1]["id"]
    shutil.copy(OLD / "history.jsonl", folder / "history.jsonl")
    make_app()
    assert client.get("/?format=json").json["deploys"] == before

    # the export gives every record, the migrated ones as they were
    out = subprocess.run([sys.executable, "-m", "webhook.deploy.history", "--deploy-dir", str(folder)],
                         capture_output=True, text=True, check=True).stdout
    exported = [json.loads(line) for line in out.splitlines()]
    assert exported[:4] == old[:4]


def _read_in_another_process(path: Path) -> str:
    """What a second program (another gunicorn worker, airflow-init, a backup) sees: it opens the database,
    reads, and closes its only connection (the moment SQLite checkpoints and deletes the WAL if it is the last)."""
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "print(c.execute('SELECT name, value FROM facts ORDER BY name').fetchall()); c.close()")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_second_database_object_keeps_the_first_ones_locks(tmp_path):
    """The webhook makes a Database for the app, the runner and each deploy context in one process. Making one
    must not drop the locks the others' open connections hold: the CI's compose run read "database disk image is
    malformed" after the first deploy, its -wal and -shm deleted under the running webhook by another process."""
    first = Database(tmp_path / "deploy")
    first.set_fact("a", 1)
    wal = tmp_path / "deploy" / (FILE + "-wal")
    assert wal.exists()
    Database(tmp_path / "deploy")
    assert _read_in_another_process(first.path) == "[('a', '1')]"
    assert wal.exists(), "another process deleted the WAL this process still uses"
    first.set_fact("b", 2)
    assert first.fact("a") == 1 and first.fact("b") == 2
    assert _read_in_another_process(first.path) == "[('a', '1'), ('b', '2')]"
