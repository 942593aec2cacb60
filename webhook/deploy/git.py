"""Run git from an argument list with a timeout, no prompts and no user configuration."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
# user:password@ in URLs must never reach a log line.
_CREDENTIALS_RE = re.compile(r"(\w+://)[^/@\s]+@")


class GitError(RuntimeError):
    """A git command failed or timed out; the message is safe to log and show."""


def redact(text: str) -> str:
    return _CREDENTIALS_RE.sub(r"\1***@", text)


def git_env() -> dict[str, str]:
    """An environment that can never block on a prompt or read the operator's git configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="/bin/false",
        SSH_ASKPASS="/bin/false",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_SSH_COMMAND="ssh -o BatchMode=yes -o ConnectTimeout=15",
        LC_ALL="C",
    )
    return env


def describe_failure(stderr: str, limit: int = 1500) -> str:
    """git's whole message on one line (it spreads one error over several), credentials removed."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = redact(" ".join(lines)) or "no output"
    return text if len(text) <= limit else text[:limit] + "..."


def ok(args: list[str], cwd: Path | None = None, timeout: float = 60.0) -> bool:
    """Run `git <args>` for its exit status only (e.g. merge-base --is-ancestor)."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, env=git_env(), stdin=subprocess.DEVNULL,
            capture_output=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:g}s") from None
    return proc.returncode == 0


def run(args: list[str], cwd: Path | None = None, timeout: float = 60.0, check: bool = True,
        env: dict[str, str] | None = None) -> str:
    """Run `git <args>` and return stdout; raise GitError with git's whole message on failure or timeout."""
    started = time.monotonic()
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**git_env(), **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:g}s") from None
    elapsed = time.monotonic() - started
    if check and proc.returncode != 0:
        detail = describe_failure(proc.stderr)
        log.info("event=git_failed cmd=%s rc=%d seconds=%.3f", args[0], proc.returncode, elapsed)
        raise GitError(f"git {args[0]} failed: {detail}")
    return proc.stdout
