"""What a DAG problem tells whom: file, line and exception type to anyone, the message only to authenticated
readers and the log. A message is whatever the DAG's code chose to put in it, so it is never public.

The report comes from a process that ran the commit's code; everything here is derived by the webhook from
its text and reduced to shapes that cannot carry much: a path, a number, an identifier.
"""

from __future__ import annotations

import re

from webhook.deploy.integrity import MESSAGES

KINDS = ("import_error", "cycle", "duplicate_dag_id", "integrity", "policy")
MAX_WARNINGS = 50
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
    line = problem.get("line")
    if not isinstance(line, int) or isinstance(line, bool) or not 0 < line < 10**7:
        line = _line(message, file)
    checked = kind in ("integrity", "policy")  # the check's own words, not an exception
    return {"file": file, "dag_id": _text(problem.get("dag_id"), 250), "kind": kind, "line": line,
            "exception": None if checked else _exception(message), "message": message[-2000:]}


def warning(item: dict) -> str:
    """One warning of the report (a house rule the policy sets to warn) as the history, the status page and
    Slack show it; the words are the webhook's, only the file and dag_id come from the report."""
    rule = item.get("rule") if item.get("rule") in MESSAGES else None
    if rule is None:
        return "a DAG breaks a house rule the policy sets to warn"
    file, dag_id = _text(item.get("file"), 200), _text(item.get("dag_id"), 250)
    return f"{file}: DAG {dag_id} {MESSAGES[rule]} (policy: {rule}: warn)"


def warnings(items: list) -> list[str]:
    """The report's warnings for the deploy record: at most MAX_WARNINGS, then a count of the rest."""
    items = [w for w in items if isinstance(w, dict)] if isinstance(items, list) else []
    shown = [warning(w) for w in items[:MAX_WARNINGS]]
    if len(items) > MAX_WARNINGS:
        shown.append(f"and {len(items) - MAX_WARNINGS} more warnings")
    return shown


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
