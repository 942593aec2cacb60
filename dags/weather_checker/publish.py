"""Write the diagnostics folder atomically: temporary file in the same folder, fsync, then rename."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

ASSETS = Path(__file__).with_name("assets")
PAGE_ASSETS = {"page.css": "page.css", "favicon.png": "camera-signal.png"}
IMAGES = "images"


def run_key(run_id: str) -> str:
    """A file-name-safe, unique name for one DAG run (run ids contain ':' and '+')."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._")[:80] or "run"
    return f"{safe}-{hashlib.sha256(run_id.encode()).hexdigest()[:8]}"


def atomic_write(path: Path, data: bytes | str) -> None:
    """Readers see the old file or the new one, never half of one."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    # 0644 less the umask (not mkstemp's 0600): under compose the diagnostics server may run as another user;
    # the native stack's umask 027 keeps the page from other users of the machine
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: Path, value: object) -> None:
    atomic_write(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Serialise read-modify-write of the history between overlapping runs."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_history(folder: Path) -> list[dict]:
    """Past run summaries, newest first; an unreadable file starts a new history rather than failing."""
    try:
        history = json.loads((folder / "history.json").read_text())
    except (OSError, ValueError):
        return []
    return [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []


def install_assets(folder: Path) -> None:
    for name, source in PAGE_ASSETS.items():
        atomic_write(folder / name, (ASSETS / source).read_bytes())


def prune_images(folder: Path, keep: set[str], grace_seconds: float = 600) -> list[str]:
    """Delete run images no summary refers to any more; return what was removed."""
    removed: list[str] = []
    images = folder / IMAGES
    if not images.is_dir():
        return removed
    # A recent image may belong to a run that has not published its page yet.
    cutoff = time.time() - grace_seconds
    for path in images.iterdir():
        if path.suffix == ".jpg" and f"{IMAGES}/{path.name}" not in keep and path.stat().st_mtime < cutoff:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            removed.append(path.name)
    return removed
