"""The backup file on its own: checked whole before a restore, pruned to the newest N, the deploy state copied
online and back, and a restore refused with the wrong Fernet key. (The database part: test_backup_stack.py.)"""

from __future__ import annotations

import json
import os
import sqlite3
import tarfile
from pathlib import Path

import pytest

from stackctl import backup
from stackctl.backup import BackupError
from stacktest.gitrepo import git
from webhook.deploy.state import Database


def write_backup(path: Path, files: dict[str, bytes], manifest: dict | None = None) -> Path:
    """A backup file as `create` writes it, from the given members."""
    work = path.parent / "members"
    work.mkdir(exist_ok=True)
    for name, data in files.items():
        (work / name).write_bytes(data)
    manifest = manifest or {"format": backup.FORMAT, "created_at": "2026-11-29T12:00:00Z",
                            "airflow_version": "3.3.2", "alembic_revision": "abc", "fernet_fingerprint": "",
                            "files": {name: backup._sha256(work / name) for name in files}}
    (work / backup.MANIFEST).write_text(json.dumps(manifest))
    with tarfile.open(path, "w:gz") as tar:
        for name in (backup.MANIFEST, *files):
            tar.add(work / name, arcname=name)
    return path


def test_a_whole_backup_opens(tmp_path):
    path = write_backup(tmp_path / "b.tar.gz", {backup.DUMP: b"dump"})
    manifest = backup.open_backup(path, tmp_path / "out")
    assert manifest["airflow_version"] == "3.3.2"
    assert (tmp_path / "out" / backup.DUMP).read_bytes() == b"dump"


def truncated(path: Path) -> None:
    whole = write_backup(path, {backup.DUMP: os.urandom(50_000)}).read_bytes()
    path.write_bytes(whole[:300])


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no backup at"),
    (lambda p: p.write_bytes(b"not a tar file at all"), "is damaged or not a backup of this stack"),
    (truncated, "is damaged or not a backup of this stack"),
    (lambda p: write_backup(p, {backup.DUMP: b"d"}, {"format": backup.FORMAT, "files": {backup.DUMP: "0" * 64}}),
     "does not match its checksum"),
    (lambda p: write_backup(p, {backup.DUMP: b"d"}, {"format": 99, "files": {}}), "has format 99"),
    (lambda p: write_backup(p, {}, {"format": backup.FORMAT, "files": {}}), "holds no database dump"),
])
def test_a_missing_or_damaged_backup_is_named(tmp_path, make, message):
    path = tmp_path / "b.tar.gz"
    make(path)
    with pytest.raises(BackupError, match=message):
        backup.open_backup(path, tmp_path / "out")


def test_a_tar_without_manifest_is_not_a_backup(tmp_path):
    (tmp_path / "other.txt").write_text("hello")
    with tarfile.open(tmp_path / "b.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "other.txt", arcname="other.txt")
    with pytest.raises(BackupError, match="is not a backup of this stack"):
        backup.open_backup(tmp_path / "b.tar.gz", tmp_path / "out")


def test_pruning_keeps_the_newest_n(tmp_path):
    names = [f"gitops-airflow-20261129T1200{second:02d}.000Z.tar.gz" for second in range(5)]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "someone-elses.tar.gz").write_bytes(b"")
    removed = backup.prune(tmp_path, 2)
    assert [p.name for p in removed] == names[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == [*names[3:], "someone-elses.tar.gz"]


def test_a_restore_with_another_fernet_key_is_refused():
    manifest = {"fernet_fingerprint": backup.fingerprint("old-key")[0]}
    backup.check_key(manifest, "old-key", Path("b"))
    backup.check_key(manifest, "new-key,old-key", Path("b"))  # Airflow's rotation: the old key still decrypts
    with pytest.raises(BackupError, match="another AIRFLOW__CORE__FERNET_KEY"):
        backup.check_key(manifest, "new-key", Path("b"))
    assert "old-key" not in json.dumps(manifest)


def test_the_deploy_state_is_copied_online_and_restored(tmp_path):
    deploy = tmp_path / "deploy"
    db = Database(deploy)
    with db.write() as conn:
        conn.execute("INSERT INTO deploys (record) VALUES (?)", (json.dumps({"id": "d1", "state": "succeeded"}),))
    mirror = deploy / "mirror.git"
    git("init", "--quiet", "--bare", "--initial-branch=production", str(mirror))
    work = tmp_path / "clone"
    git("init", "--quiet", "--initial-branch=production", str(work))
    (work / "a.py").write_text("x = 1\n")
    git("add", "a.py", cwd=work)
    git("commit", "--quiet", "-m", "one", cwd=work)
    git("push", "--quiet", str(mirror), "production", cwd=work)
    commit = git("rev-parse", "HEAD", cwd=work).strip()
    writer = sqlite3.connect(deploy / backup.STATE)  # the webhook holds its database open meanwhile
    writer.execute("BEGIN IMMEDIATE")

    out = tmp_path / "out"
    out.mkdir()
    found = backup.copy_deploy_state(deploy, out, "production")
    writer.rollback()
    assert found == {"deploys": 1, "deployed_commit": commit, "branch": "production"}

    target = tmp_path / "restored"
    (target / "mirror.git").mkdir(parents=True)  # a stopped stack's own state is replaced
    backup.restore_deploy_state(out, {"files": {backup.STATE: "", backup.MIRROR: ""}, **found}, target)
    rows = sqlite3.connect(target / backup.STATE).execute("SELECT id, state FROM deploys").fetchall()
    assert rows == [("d1", "succeeded")]
    assert git("rev-parse", "refs/heads/production", cwd=target / "mirror.git").strip() == commit
    assert git("symbolic-ref", "HEAD", cwd=target / "mirror.git").strip() == "refs/heads/production"
