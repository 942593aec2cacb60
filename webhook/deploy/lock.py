"""An exclusive lock on a file (fcntl.flock): one holder across all processes, released if it dies."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class LockTimeout(TimeoutError):
    """Another process held the lock for longer than we were willing to wait."""


class FileLock:
    """`with FileLock(path, timeout=...)`: the kernel releases it when the holder exits or crashes."""

    def __init__(self, path: Path, timeout: float | None = None):
        self.path = Path(path)
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self, timeout: float | None = None, poll: float = 0.05) -> bool:
        """Take the lock; None waits forever, 0 tries once. Returns False on timeout."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if timeout is None else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(poll)
        # The holder's pid helps an operator see who holds it (`cat deploy.lock`); flock is the truth.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> FileLock:
        if not self.acquire(self.timeout):
            raise LockTimeout(f"{self.path} is held by another process")
        return self

    def __exit__(self, *exc) -> None:
        self.release()
