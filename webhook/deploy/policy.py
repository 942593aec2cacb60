"""The DAG repository's deploy policy: for each house rule, whether a breach blocks a deploy, warns, or is off.

The policy is `deploy-policy.yaml` beside the DAG folder, so it is versioned, reviewed and deployed with the
DAGs it judges. Import errors, cycles and duplicate dag_ids are not rules: they always block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

FILE_NAME = "deploy-policy.yaml"
ALWAYS_BLOCKED = ("import_errors", "cycles", "duplicate_dag_ids")
Level = Literal["off", "warn", "block"]


class Rules(BaseModel):
    """One level per house rule (webhook/deploy/integrity.py says what each checks). The defaults let DAGs
    written for any Airflow (Airflow's own examples among them) deploy unchanged, with warnings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tags: Level = "warn"
    tasks: Level = "warn"
    owner: Level = "warn"
    retries: Level = "warn"
    timeout: Level = "warn"

    @field_validator("*", mode="before")
    @classmethod
    def _unquoted_off(cls, value):
        # YAML 1.1 reads an unquoted `off` as false; nobody means anything else by it here.
        return "off" if value is False else value


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    rules: Rules = Rules()

    def level(self, rule: str) -> str:
        return getattr(self.rules, rule)


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the file, the line and field, and the problem."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def load(path: Path, name: str = FILE_NAME) -> Policy:
    """The policy in `path` (shown as `name`); the defaults when there is no such file."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return Policy()
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{name}: cannot be read: {exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{name}{_at(line)}: not valid YAML: {problem}", line) from None
    if data is None:
        return Policy()
    if not isinstance(data, dict):
        raise PolicyError(f"{name}, line 1: must be a mapping with 'version' and 'rules', "
                          f"got {type(data).__name__}", 1)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise _error(name, root, error) from None


def _error(name: str, root, error: dict) -> PolicyError:
    loc = [str(part) for part in error["loc"]]
    field = ".".join(loc)
    line = _line(root, loc)
    if error["type"] == "extra_forbidden" and loc[:1] == ["rules"]:
        if loc[-1] in ALWAYS_BLOCKED:
            what = f"{loc[-1]} always block a deploy; they cannot be configured"
        else:
            what = f"unknown rule (rules are: {', '.join(Rules.model_fields)})"
    elif error["type"] == "extra_forbidden":
        what = "unknown setting (settings are: version, rules)"
    elif error["type"] == "literal_error" and loc[:1] == ["rules"]:
        what = f"must be off, warn or block, got {error['input']!r}"
    else:
        what = error["msg"]
    return PolicyError(f"{name}{_at(line)}, {field}: {what}", line)


def _at(line: int | None) -> str:
    return f", line {line}" if line else ""


def _line(node, loc: list[str]) -> int | None:
    """The line of the deepest YAML node on the error's path (its key when the value is missing)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if k.value == part), None)
        if match is None:
            break
        node = match[1]
        line = match[0].start_mark.line + 1
    return line
