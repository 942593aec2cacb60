"""The deploy mirror: exporting a commit's tree, and what a failing git says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stacktest.gitrepo import git
from webhook.deploy.git import GitError
from webhook.deploy.mirror import Mirror

PROJECT = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3.11")


@pytest.fixture
def mirror(origin, tmp_path) -> Mirror:
    mirror = Mirror(tmp_path / "mirror.git", origin.url, origin.branch)
    mirror.fetch()
    return mirror


def test_export_writes_the_commit_tree_with_modes_and_symlinks(origin, mirror, tmp_path):
    origin.commit({"dags/run.sh": "#!/bin/sh\n"})
    os.chmod(origin.work / "dags" / "run.sh", 0o755)
    os.symlink("hello.py", origin.work / "dags" / "alias.py")
    git("add", "--all", cwd=origin.work)
    git("commit", "--quiet", "-m", "modes", cwd=origin.work)
    git("push", "--quiet", "origin", f"HEAD:{origin.branch}", cwd=origin.work)
    tip = mirror.fetch()
    dest = tmp_path / "tree"
    mirror.export(tip, dest)
    assert (dest / "dags" / "hello.py").read_text().startswith('"""A test DAG."""')
    assert os.access(dest / "dags" / "run.sh", os.X_OK)
    assert os.readlink(dest / "dags" / "alias.py") == "hello.py"
    assert sorted(p.name for p in dest.iterdir()) == ["README.md", "dags"], "no index or git files in the tree"
    assert not list(tmp_path.glob(".index-*")), "the private index is removed"


def test_export_refuses_an_existing_folder(mirror, origin, tmp_path):
    (tmp_path / "tree").mkdir()
    with pytest.raises(FileExistsError):
        mirror.export(origin.head(), tmp_path / "tree")


@pytest.mark.skipif(not DEBIAN_PYTHON.exists(), reason="Debian's own python3.11 (3.11.2) is not installed")
def test_export_works_on_debians_python_older_than_3_11_4(mirror, origin, tmp_path):
    # Debian 12's python3.11 is 3.11.2: tarfile's extraction filters (3.11.4) crashed the first deploy there.
    site = next(Path(sys.prefix, "lib").glob("python3.11/site-packages"))
    code = ("import sys; from pathlib import Path; from webhook.deploy.mirror import Mirror; "
            "print(sys.version_info[:3]); "
            f"Mirror(Path({str(mirror.path)!r}), '', 'production')"
            f".export({origin.head()!r}, Path({str(tmp_path)!r}) / 't')")
    result = subprocess.run([str(DEBIAN_PYTHON), "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": f"{PROJECT}:{site}", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t" / "dags" / "hello.py").is_file()


def test_a_failing_fetch_reports_gits_whole_message(tmp_path):
    mirror = Mirror(tmp_path / "mirror.git", str(tmp_path / "no-such-repo.git"), "production")
    with pytest.raises(GitError) as caught:
        mirror.fetch()
    message = str(caught.value)
    # git spreads this error over three lines; the last one alone said "and the repository exists."
    assert "does not appear to be a git repository" in message
    assert "and the repository exists" in message
    assert "\n" not in message


def test_credentials_in_a_failing_url_are_redacted(tmp_path):
    mirror = Mirror(tmp_path / "mirror.git", "http://user:s3cret-token@127.0.0.1:9/repo.git", "production",
                    timeout=20)
    with pytest.raises(GitError) as caught:
        mirror.fetch()
    assert "s3cret-token" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)
