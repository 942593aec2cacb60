"""What a DAG problem tells whom: file, line and exception type to anyone, the message only to authenticated
readers and the log. A message is whatever the DAG's code chose to put in it, so it is never public.

The report comes from a process that ran the commit's code; everything here is derived by the webhook from
its text and reduced to shapes that cannot carry much: a path, a number, an identifier.
"""

from __future__ import annotations

import re

KINDS = ("import_error", "cycle", "duplicate_dag_id", "integrity")
_FRAME_RE = re.compile(r'File "([^"\n]{1,500})", line (\d{1,7})')
# "ValueError: ...", "airflow.sdk.exceptions.AirflowDagCycleException: ...", or a bare "KeyboardInterrupt"
_EXCEPTION_RE = re.compile(r"^(?:[A-Za-z_]\w{0,79}\.){0,8}([A-Za-z_]\w{0,79})(?::|$)")


def _text(value: object, limit: int) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return "".join(c for c in value if c.isprintable())[:limit] or None


def _line(message: str, file: str | None) -> int | None:
    """The deepest traceback frame in the problem's own file."""
    if not file:
        return None
    lines = [int(n) for path, n in _FRAME_RE.findall(message) if path == file or path.endswith("/" + file)]
    return lines[-1] if lines else None


def _exception(message: str) -> str | None:
    last = next((line.strip() for line in reversed(message.splitlines()) if line.strip()), "")
    match = _EXCEPTION_RE.match(last)
    return match.group(1) if match else None


def describe(problem: dict) -> dict:
    """A problem of the validation report as the history keeps it: the public fields plus the message."""
    message = problem.get("message") if isinstance(problem.get("message"), str) else ""
    kind = problem.get("kind") if problem.get("kind") in KINDS else "import_error"
    file = _text(problem.get("file"), 200)
    return {"file": file, "dag_id": _text(problem.get("dag_id"), 250), "kind": kind,
            "line": _line(message, file), "exception": None if kind == "integrity" else _exception(message),
            "message": message[-2000:]}


def public(problem: dict) -> dict:
    """A stored problem without its message."""
    return {name: problem.get(name) for name in ("file", "dag_id", "kind", "line", "exception")}


def reason(problems: list[dict]) -> str:
    """One line about the first problem that anyone may read (the result's `reason`)."""
    first = problems[0]
    where = f"{first['file']}, line {first['line']}" if first.get("line") else f"{first['file']}"
    what = f" ({first['exception']})" if first.get("exception") else ""
    return f"{len(problems)} DAG problem(s); first: {first['kind']} in {where}{what}"


def detail(problems: list[dict]) -> str:
    """The first problem's own words, for authenticated readers, the log and Slack."""
    lines = problems[0]["message"].strip().splitlines()
    return lines[-1][:300] if lines else ""
