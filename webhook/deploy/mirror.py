"""The local mirror Airflow's GitDagBundle tracks: fetch into it, move its branch atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from webhook.deploy import git
from webhook.deploy.git import SHA_RE, GitError

if TYPE_CHECKING:
    from webhook.deploy.credentials import Credentials

# Where fetched commits of the origin branch land; Airflow never reads this ref.
INCOMING = "refs/remotes/origin/{branch}"


class Mirror:
    """A bare repository in the state folder; `refs/heads/<branch>` is what Airflow deploys."""

    def __init__(self, path: Path, repo_url: str, branch: str, timeout: float = 60.0,
                 credentials: Credentials | None = None):
        self.path = Path(path)
        self.repo_url = repo_url
        self.branch = branch
        self.timeout = timeout
        # None: origin needs none (a path in tests, a public repository); see webhook/deploy/credentials.py
        self.credentials = credentials

    @property
    def published_ref(self) -> str:
        return f"refs/heads/{self.branch}"

    @property
    def incoming_ref(self) -> str:
        return INCOMING.format(branch=self.branch)

    def git(self, *args: str, timeout: float | None = None, check: bool = True) -> str:
        return git.run(list(args), cwd=self.path, timeout=timeout or self.timeout, check=check)

    def _origin(self, args: list[str], cwd: Path | None) -> str:
        """Run a git command that talks to origin, with the deploy credentials for this one call."""
        if self.credentials is None:
            return git.run(args, cwd=cwd, timeout=self.timeout)
        with self.credentials.git_env(self.repo_url) as env:
            try:
                return git.run(args, cwd=cwd, timeout=self.timeout, env=env)
            except GitError as exc:
                raise self.credentials.explain(exc, self.repo_url) from None

    def ensure(self) -> None:
        """Create the bare mirror once; safe to call before every deploy."""
        if (self.path / "HEAD").is_file():
            return
        self.path.mkdir(parents=True, exist_ok=True)
        git.run(["init", "--quiet", "--bare", f"--initial-branch={self.branch}", str(self.path)])

    def deployed(self) -> str | None:
        """The commit Airflow is told to deploy, or None before the first deploy."""
        if not (self.path / "HEAD").is_file():
            return None
        out = self.git("rev-parse", "--verify", "--quiet", f"{self.published_ref}^{{commit}}", check=False)
        return out.strip() or None

    def fetch(self) -> str:
        """Fetch the configured branch from the configured origin; return its tip."""
        self.ensure()
        # The URL and refspec come from settings only; "--" keeps them from being read as options.
        self._origin(["fetch", "--quiet", "--no-tags", "--prune", "--", self.repo_url,
                      f"+refs/heads/{self.branch}:{self.incoming_ref}"], cwd=self.path)
        return self.git("rev-parse", "--verify", self.incoming_ref).strip()

    def remote_tip(self) -> str | None:
        """The branch tip on origin via ls-remote (cheap, used by the fallback poll)."""
        out = self._origin(["ls-remote", "--", self.repo_url, f"refs/heads/{self.branch}"], cwd=None)
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/heads/{self.branch}" and SHA_RE.match(sha):
                return sha
        return None

    def has_commit(self, sha: str) -> bool:
        return bool(self.git("cat-file", "-t", sha, check=False).strip() == "commit")

    def is_ancestor(self, older: str, newer: str) -> bool:
        """True when `older` is reachable from `newer` (equal counts)."""
        return git.ok(["merge-base", "--is-ancestor", older, newer], cwd=self.path, timeout=self.timeout)

    def publish(self, new: str, expected_old: str | None) -> None:
        """Move the published branch to `new` only if it still points at `expected_old` (atomic)."""
        if not SHA_RE.match(new):
            raise GitError(f"refusing to publish {new!r}: not a full commit id")
        old = expected_old or "0" * 40
        self.git("update-ref", "-m", "webhook deploy", self.published_ref, new, old)

    def changed_paths(self, old: str | None, new: str) -> list[str]:
        """Paths that differ between two commits (everything when there is no old commit)."""
        if old is None:
            return self.git("ls-tree", "-r", "--name-only", new).splitlines()
        return self.git("diff", "--name-only", "--no-renames", old, new).splitlines()

    def commit_info(self, sha: str) -> dict:
        """Author, subject and time of a commit, for the history."""
        out = self.git("show", "--no-patch", "--format=%an%x00%ae%x00%s%x00%ct", sha)
        name, email, subject, when = (out.rstrip("\n").split("\x00") + ["", "", "", "0"])[:4]
        return {"author": name, "author_email": email, "subject": subject, "committed_at": int(when or 0)}

    def export(self, sha: str, dest: Path) -> None:
        """Write the tree of `sha` into `dest` (a fresh folder) without touching any worktree.

        git itself writes the files from a private index: no archive to unpack, so nothing depends on the
        Python version (tarfile's extraction filters need 3.11.4), and git never writes through a symlink.
        """
        dest.mkdir(parents=True, exist_ok=False)
        fd, index = tempfile.mkstemp(prefix=".index-", dir=dest.parent)
        os.close(fd)
        os.unlink(index)  # git creates it; an empty file is not a valid index
        try:
            env = {"GIT_DIR": str(self.path), "GIT_WORK_TREE": str(dest), "GIT_INDEX_FILE": index}
            git.run(["read-tree", sha], env=env, timeout=self.timeout)
            git.run(["checkout-index", "--all"], cwd=dest, env=env, timeout=self.timeout)
        finally:
            Path(index).unlink(missing_ok=True)
