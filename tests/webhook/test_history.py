"""The append-only history: one snapshot per line, safe with several writing processes."""

from __future__ import annotations

import json
import multiprocessing

from webhook.deploy.history import History, new_id


def write_many(path: str, worker: int) -> None:
    history = History(path)
    for n in range(50):
        history.append({"id": f"w{worker}-{n}", "state": "queued", "padding": "x" * 3000})


def test_concurrent_writers_never_interleave(tmp_path):
    path = tmp_path / "history.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=write_many, args=(str(path), w)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    lines = path.read_text().splitlines()
    assert len(lines) == 200
    assert {json.loads(line)["id"] for line in lines} == {f"w{w}-{n}" for w in range(4) for n in range(50)}


def test_later_snapshots_update_earlier_ones(tmp_path):
    history = History(tmp_path / "h.jsonl")
    history.append({"id": "a", "state": "queued", "commit": "c1"})
    history.append({"id": "b", "state": "queued"})
    history.append({"id": "a", "state": "succeeded"})
    assert history.get("a") == {**history.get("a"), "state": "succeeded", "commit": "c1"}
    assert [d["id"] for d in history.recent()] == ["b", "a"]
    assert [d["id"] for d in history.active()] == ["b"]


def test_ids_are_sortable_and_unique():
    ids = [new_id() for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(len(i) == 22 for i in ids)
