"""A real origin for tests: a bare repository with a `production` branch, and a clone to commit from."""

from __future__ import annotations

import subprocess
from pathlib import Path

GOOD_DAG = '''"""A test DAG."""
from datetime import timedelta

from airflow.sdk import dag, task


@dag(dag_id="{dag_id}", schedule=None, tags=["test"], default_args={{"owner": "data", "retries": 1}},
     dagrun_timeout=timedelta(minutes=5))
def build():
    @task
    def hello():
        return "{marker}"

    hello()


build()
'''

CYCLE_DAG = '''from datetime import timedelta
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG(dag_id="{dag_id}", schedule=None, tags=["test"], default_args={{"owner": "data", "retries": 1}},
         dagrun_timeout=timedelta(minutes=5)):
    a = EmptyOperator(task_id="a")
    b = EmptyOperator(task_id="b")
    a >> b >> a
'''

BROKEN_DAG = '''from airflow.sdk import dag
import module_that_does_not_exist  # noqa
'''

NO_TAGS_DAG = GOOD_DAG.replace('tags=["test"], ', "")


def good_dag(dag_id: str, marker: str = "v1") -> str:
    return GOOD_DAG.format(dag_id=dag_id, marker=marker)


# Nothing but safe.directory=*: a compose test's origin belongs to the image's user (uid 50000), not to the test.
GITCONFIG = Path(__file__).with_name("gitconfig")


def git(*args: str, cwd: Path | None = None) -> str:
    env = {"GIT_AUTHOR_NAME": "Ada Tester", "GIT_AUTHOR_EMAIL": "ada@example.org",
           "GIT_COMMITTER_NAME": "Ada Tester", "GIT_COMMITTER_EMAIL": "ada@example.org",
           "GIT_CONFIG_GLOBAL": str(GITCONFIG), "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


class Origin:
    """`bare` is what the webhook fetches; `commit()` writes files in a clone and pushes them."""

    def __init__(self, root: Path, branch: str = "production"):
        self.bare = root / "origin.git"
        self.work = root / "clone"
        self.branch = branch
        git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(self.bare))
        git("init", "--quiet", f"--initial-branch={branch}", str(self.work))
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    @property
    def url(self) -> str:
        return str(self.bare)

    def commit(self, files: dict[str, str | None], message: str = "change", push: bool = True) -> str:
        """Write (or delete, with None) files, commit, push; return the new commit id."""
        for name, content in files.items():
            path = self.work / name
            if content is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        if push:
            git("push", "--quiet", "--force", "origin", f"HEAD:{self.branch}", cwd=self.work)
        return self.head()

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work).strip()

    def rewrite(self, files: dict[str, str | None], message: str = "rewritten") -> str:
        """Drop the last commit and force-push a different one in its place (a history rewrite)."""
        git("reset", "--quiet", "--hard", "HEAD~1", cwd=self.work)
        return self.commit(files, message)

    def side_commit(self, files: dict[str, str], message: str = "not on the branch") -> str:
        """A commit pushed to another branch of the same origin."""
        sha = self.commit(files, message, push=False)
        git("push", "--quiet", "origin", f"HEAD:refs/heads/feature-{sha[:7]}", cwd=self.work)
        git("reset", "--quiet", "--hard", "HEAD~1", cwd=self.work)
        return sha
