"""One check's outcome (pass, warn or fail with a detail) and the error a step raises to produce one."""

from __future__ import annotations

import re

PASS, WARN, FAIL = "pass", "warn", "fail"
STATUSES = (PASS, WARN, FAIL)


class StepFailed(Exception):
    """A step could not do its job; `transient` says whether trying again later may help."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def check(name: str, status: str, detail: str, **data) -> dict:
    """A JSON-ready check record; extra keyword data is kept for the page (never secrets)."""
    if status not in STATUSES:
        raise ValueError(f"check status must be one of {STATUSES}, got {status!r}")
    return {"name": name, "status": status, "detail": detail, **data}


def describe(error: BaseException) -> str:
    """Exception type and the part of its message a person needs (urllib3 buries the cause deep inside)."""
    if isinstance(error, OSError) and error.filename:
        return f"{type(error).__name__}: {error.strerror}: {error.filename}"
    text = str(error)
    cause = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    return f"{type(error).__name__}: {cause.group(1).strip() if cause else text[:200]}"


def from_error(name: str, error: BaseException) -> dict:
    """Turn any exception into a failed check whose detail says what went wrong."""
    if isinstance(error, StepFailed):
        return check(name, FAIL, str(error), transient=error.transient)
    return check(name, FAIL, describe(error), transient=False)


def failed(checks: list[dict]) -> list[str]:
    """Names of the failed checks, in order."""
    return [c["name"] for c in checks if c.get("status") == FAIL]
