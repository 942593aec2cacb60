"""The deploy history in the state database: shared by several writing processes, final once finished."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import sys

import pytest

from webhook.deploy.history import History, new_id
from webhook.deploy.state import Database


def write_many(folder: str, worker: int) -> None:
    history = History(Database(folder))
    for n in range(50):
        history.append({"id": f"w{worker}-{n}", "state": "queued", "padding": "x" * 3000})
        history.append({"id": f"w{worker}-{n}", "state": "running", "stage": "check"})


def test_concurrent_writers_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=write_many, args=(str(tmp_path), w)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    deploys = History(Database(tmp_path)).deploys()
    assert set(deploys) == {f"w{w}-{n}" for w in range(4) for n in range(50)}
    assert {(d["state"], d["stage"], len(d["padding"])) for d in deploys.values()} == {("running", "check", 3000)}


def test_later_snapshots_update_earlier_ones(tmp_path):
    history = History(Database(tmp_path))
    history.append({"id": "a", "state": "queued", "commit": "c1"})
    history.append({"id": "b", "state": "queued"})
    history.append({"id": "a", "state": "succeeded"})
    assert history.get("a") == {**history.get("a"), "state": "succeeded", "commit": "c1"}
    assert [d["id"] for d in history.recent()] == ["b", "a"]
    assert [d["id"] for d in history.active()] == ["b"]


def test_a_finished_deploy_is_never_changed_or_deleted(tmp_path):
    """The database itself refuses it, whoever asks: the code, or a person with the sqlite3 shell."""
    db = Database(tmp_path)
    history = History(db)
    history.append({"id": "done", "state": "running", "commit": "c1"})
    history.append({"id": "done", "state": "rolled_back", "reason": "import errors rose"})
    history.append({"id": "live", "state": "queued"})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        history.append({"id": "done", "state": "succeeded"})
    shell = sqlite3.connect(db.path, isolation_level=None)
    for sql in ("UPDATE deploys SET record = json_set(record, '$.reason', 'nothing') WHERE id = 'done'",
                "DELETE FROM deploys WHERE id = 'done'", "DELETE FROM deploys",
                "UPDATE deploys SET record = json_set(record, '$.id', 'other') WHERE id = 'live'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            shell.execute(sql)
    shell.close()
    assert history.get("done")["state"] == "rolled_back" and history.get("done")["reason"] == "import errors rose"
    assert history.append({"id": "live", "state": "running"})["state"] == "running"  # active: may move on
    assert [d["id"] for d in history.recent()] == ["live", "done"]


def test_records_keep_fields_the_webhook_does_not_know(tmp_path):
    history = History(Database(tmp_path))
    history.append({"id": "a", "state": "running", "warnings": ["w1"], "later": {"nested": [1, 2]}})
    assert history.get("a")["later"] == {"nested": [1, 2]} and history.get("a")["warnings"] == ["w1"]


def test_the_export_is_one_json_line_per_deploy_oldest_first(tmp_path):
    history = History(Database(tmp_path))
    for n in range(3):
        history.append({"id": f"d{n}", "state": "succeeded", "commit": f"{n}" * 40})
    out = subprocess.run([sys.executable, "-m", "webhook.deploy.history", "--deploy-dir", str(tmp_path)],
                         capture_output=True, text=True, check=True).stdout
    assert [json.loads(line) for line in out.splitlines()] == list(history.deploys().values())
    missing = subprocess.run([sys.executable, "-m", "webhook.deploy.history", "--deploy-dir",
                              str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert missing.returncode == 2 and "no deploy state in" in missing.stderr
    assert not (tmp_path / "nowhere").exists()


def test_ids_are_sortable_and_unique():
    ids = [new_id() for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(len(i) == 22 for i in ids)
