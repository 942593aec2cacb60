"""Read and check dags/bootstrap.yaml: pools, variables and connections, each with the line it is declared on.

A secret part is never a value: it is a reference {onepassword: <item title>, field: <field label>}
(a connection may also be the whole item `connections/<id>` in the 1Password backend's layout:
{onepassword: <item title>} with a field "conn"). `${NAME}` and `${NAME-default}` in a value are the
environment variable NAME of the process that applies the file. Errors name the file's line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

POOL_KEYS = {"slots", "description", "include_deferred"}
VARIABLE_KEYS = {"value", "description"}
CONNECTION_KEYS = {"conn_type", "host", "port", "schema", "login", "password", "extra", "description"}
SECRET_KEYS = {"password"}  # never a plain value; extra's values may be references too
REFERENCE_KEYS = {"onepassword", "field"}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:-([^}]*))?\}")


class BootstrapFileError(ValueError):
    """The file cannot be applied; the message names the line and what is wrong."""


@dataclass(frozen=True)
class Reference:
    """A 1Password item's field; field None: the item's "conn" field holds the whole connection."""

    item: str
    field: str | None
    line: int

    def __str__(self) -> str:
        return f"1Password item {self.item!r}" + (f" (field {self.field!r})" if self.field else "")


@dataclass
class Declared:
    """One pool, variable or connection as the file declares it (references unresolved)."""

    kind: str  # pool | variable | connection
    name: str
    line: int
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    def references(self) -> dict[str, Reference]:
        """{path: reference}: "password", "extra.<key>", "value", or "" for a whole-item connection."""
        found = {}
        for name, value in self.spec.items():
            if isinstance(value, Reference):
                found[name] = value
            elif isinstance(value, dict):
                found.update({f"{name}.{k}": v for k, v in value.items() if isinstance(v, Reference)})
        return found


class _Loader(yaml.SafeLoader):
    """Every mapping remembers the line of each of its keys (1-based)."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    result = _Lined()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise BootstrapFileError(f"line {key_node.start_mark.line + 1}: {key!r} is declared twice")
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    result.line = node.start_mark.line + 1
    return result


class _Lined(dict):
    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}
        self.line = 0


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _expand(value: Any, line: int, environ: dict[str, str]) -> Any:
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if environ.get(name):
            return environ[name]
        if default is None:
            raise BootstrapFileError(f"line {line}: ${{{name}}} is not set in the environment "
                                     f"(write ${{{name}-default}} for a default)")
        return default

    return _VARIABLE.sub(lookup, value)


def _reference(value: Any, line: int, what: str, whole: bool = False) -> Reference | None:
    """A reference if `value` is one, else None; a malformed one raises."""
    if not isinstance(value, dict) or "onepassword" not in value:
        return None
    unknown = set(value) - REFERENCE_KEYS
    item, label = value.get("onepassword"), value.get("field")
    if unknown or not isinstance(item, str) or not item.strip() or (label is not None and not isinstance(label, str)):
        raise BootstrapFileError(f"line {line}: {what} must be {{onepassword: <item title>, field: <field label>}}"
                                 + (f"; unknown keys {', '.join(sorted(map(str, unknown)))}" if unknown else ""))
    if label is None and not whole:
        raise BootstrapFileError(f"line {line}: {what} names the 1Password item {item!r} but no field")
    return Reference(item.strip(), label, line)


def _section(document: _Lined, name: str) -> list[tuple[str, Any, int]]:
    section = document.get(name) or {}
    if not isinstance(section, dict):
        raise BootstrapFileError(f"line {document.lines[name]}: {name} must be a mapping of names to settings")
    for key in section:
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]{1,250}", key):
            raise BootstrapFileError(f"line {section.lines[key]}: {name[:-1]} name {key!r} must be letters, digits, "
                                     f"_ . or -")
    return [(key, section[key], section.lines[key]) for key in section]


def _check_keys(spec: dict, allowed: set[str], line: int, what: str) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise BootstrapFileError(f"line {spec.lines.get(unknown[0], line)}: {what} has unknown setting "
                                 f"{unknown[0]!r}; known: {', '.join(sorted(allowed))}")


def _pool(name: str, raw: Any, line: int, environ: dict[str, str]) -> Declared:
    spec = raw if isinstance(raw, dict) else {"slots": raw}
    if isinstance(raw, dict):
        _check_keys(raw, POOL_KEYS, line, f"pool {name!r}")
    where = spec.lines.get("slots", line) if isinstance(spec, _Lined) else line
    slots = _expand(spec.get("slots"), where, environ)
    if isinstance(slots, str) and re.fullmatch(r"-?\d+", slots.strip()):
        slots = int(slots)
    if isinstance(slots, bool) or not isinstance(slots, int):
        raise BootstrapFileError(f"line {where}: pool {name!r} needs slots, a whole number, got {slots!r}")
    if slots < 0:
        raise BootstrapFileError(f"line {where}: pool {name!r} has negative slots ({slots}); use 0 or more")
    include_deferred = spec.get("include_deferred", False)
    if not isinstance(include_deferred, bool):
        raise BootstrapFileError(f"line {line}: pool {name!r}: include_deferred must be true or false")
    description = _expand(spec.get("description") or "", line, environ)
    return Declared("pool", name, line, {"slots": slots, "description": str(description),
                                         "include_deferred": include_deferred})


def _variable(name: str, raw: Any, line: int, environ: dict[str, str]) -> Declared:
    spec = raw if isinstance(raw, dict) and "onepassword" not in raw else {"value": raw}
    if spec is raw:
        _check_keys(raw, VARIABLE_KEYS, line, f"variable {name!r}")
    value = spec.get("value")
    reference = _reference(value, line, f"variable {name!r}")
    if reference is None:
        if value is None or isinstance(value, (dict, list)):
            raise BootstrapFileError(f"line {line}: variable {name!r} needs a value (text or a number)")
        value = _expand(str(value).lower() if isinstance(value, bool) else str(value), line, environ)
    return Declared("variable", name, line, {"value": reference or value,
                                             "description": str(_expand(spec.get("description") or "", line,
                                                                        environ))})


def _connection(name: str, raw: Any, line: int, environ: dict[str, str]) -> Declared:
    whole = _reference(raw, line, f"connection {name!r}", whole=True)
    if whole is not None:
        return Declared("connection", name, line, {"": whole})
    if not isinstance(raw, dict):
        raise BootstrapFileError(f"line {line}: connection {name!r} must be a mapping with conn_type, host, ...")
    _check_keys(raw, CONNECTION_KEYS, line, f"connection {name!r}")
    spec: dict[str, Any] = {}
    for key in ("conn_type", "host", "port", "schema", "login", "password", "description"):
        where = raw.lines.get(key, line)
        value = raw.get(key)
        reference = _reference(value, where, f"connection {name!r} {key}")
        if reference is not None:
            spec[key] = reference
        elif key in SECRET_KEYS and value is not None:
            raise BootstrapFileError(f"line {where}: connection {name!r} {key} must be a 1Password reference "
                                     f"{{onepassword: <item title>, field: <field label>}}, never a value")
        else:
            spec[key] = _expand(value, where, environ)
    if not spec["conn_type"]:
        raise BootstrapFileError(f"line {line}: connection {name!r} needs a conn_type")
    if spec["port"] is not None:
        try:
            spec["port"] = int(spec["port"])
        except (TypeError, ValueError):
            raise BootstrapFileError(f"line {raw.lines.get('port', line)}: connection {name!r} port must be a "
                                     f"number, got {spec['port']!r}") from None
    extra = raw.get("extra") or {}
    if not isinstance(extra, dict):
        raise BootstrapFileError(f"line {raw.lines.get('extra', line)}: connection {name!r} extra must be a mapping")
    where = raw.lines.get("extra", line)
    spec["extra"] = {k: _reference(v, where, f"connection {name!r} extra.{k}") or _expand(v, where, environ)
                     for k, v in extra.items()}
    return Declared("connection", name, line, spec)


def parse(text: str, environ: dict[str, str] | None = None) -> list[Declared]:
    """Every declaration in the file, checked; raise BootstrapFileError naming the line of the first problem."""
    environ = dict(os.environ if environ is None else environ)
    try:
        document = yaml.load(text, Loader=_Loader) or _Lined()  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise BootstrapFileError(f"line {mark.line + 1 if mark else '?'}: not valid YAML: {error.problem}") from None
    if not isinstance(document, dict):
        raise BootstrapFileError("line 1: the file must be a mapping with pools, variables and connections")
    unknown = sorted(set(document) - {"pools", "variables", "connections"})
    if unknown:
        raise BootstrapFileError(f"line {document.lines[unknown[0]]}: unknown section {unknown[0]!r}; "
                                 f"known: pools, variables, connections")
    return ([_pool(*entry, environ) for entry in _section(document, "pools")]
            + [_variable(*entry, environ) for entry in _section(document, "variables")]
            + [_connection(*entry, environ) for entry in _section(document, "connections")])
