"""Apply dags/bootstrap.yaml to Airflow, idempotently, without overwriting what someone changed by hand.

For each declared object:
- absent in Airflow: created;
- equal (secrets aside): left alone; secrets always follow 1Password (a rotation there arrives here);
- different, and the file's declaration changed since the last apply (or was never applied): updated;
- different, though the declaration did not change: DRIFT, someone changed it in Airflow. It is reported
  (logged, and on the deploy's status) and left as it is, until the file says otherwise or
  `python -m bootstrapfile --overwrite-drift` is run.
What was last applied is remembered as a fingerprint of each declaration (the file holds references, never
secrets) in the Airflow variable `bootstrap_applied`.
A reference to a missing 1Password item skips that one object, naming the item and the object; the rest is
applied.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from bootstrapfile.spec import Declared, Reference
from bootstrapfile.stores import STATE_DESCRIPTION, STATE_VARIABLE, Store

REDACTED = "***"  # how Airflow's API shows a secret


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        summary = (f"bootstrap: {len(self.created)} created, {len(self.updated)} updated, "
                   f"{len(self.unchanged)} unchanged, {len(self.drift)} drifted, {len(self.problems)} skipped")
        return ([summary] + [f"bootstrap: DRIFT {line}" for line in self.drift]
                + [f"bootstrap: SKIPPED {line}" for line in self.problems])

    def as_dict(self) -> dict[str, list[str]]:
        return {"created": self.created, "updated": self.updated, "drift": self.drift, "problems": self.problems}


def fingerprint(declared: Declared) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, Reference):
            return {"onepassword": value.item, "field": value.field}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    text = json.dumps({"kind": declared.kind, "name": declared.name, "spec": plain(declared.spec)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve(declared: Declared, read_field) -> tuple[dict[str, Any], set[str]]:
    """The object's values with references read; (values, paths that hold secrets). read_field(ref) -> str."""
    spec = dict(declared.spec)
    if declared.kind == "connection" and "" in spec:
        whole = json.loads(read_field(spec[""]))
        values = {"conn_type": whole.get("conn_type"), "host": whole.get("host"), "port": whole.get("port"),
                  "schema": whole.get("schema"), "login": whole.get("login"), "password": whole.get("password"),
                  "extra": whole.get("extra") or {}, "description": whole.get("description") or ""}
        if isinstance(values["extra"], str):
            values["extra"] = json.loads(values["extra"] or "{}")
        return values, {"password", *(f"extra.{k}" for k in values["extra"])}
    secrets = set(declared.references())
    if declared.kind == "connection":
        secrets.add("password")
    for path, reference in declared.references().items():
        name, _, key = path.partition(".")
        if key:
            spec[name] = {**spec[name], key: read_field(reference)}
        else:
            spec[name] = read_field(reference)
    return spec, secrets


def _visible(values: dict[str, Any], secrets: set[str]) -> dict[str, Any]:
    """What can be compared whichever way we read Airflow: secrets become "set" or None."""
    shown = {k: v for k, v in values.items() if k not in secrets}
    if "extra" in values:
        shown["extra"] = {k: ("set" if v not in (None, "") else None) if f"extra.{k}" in secrets else v
                          for k, v in (values["extra"] or {}).items()}
    for path in secrets:
        if "." not in path and path in values:
            shown[path] = "set" if values[path] not in (None, "") else None
    return shown


def _differences(current: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(current) | set(desired)):
        have, want = current.get(key), desired.get(key)
        if key == "extra" and isinstance(have, dict) and isinstance(want, dict):
            have = {k: v for k, v in have.items() if not (v == REDACTED and k in want)}
            want = {k: v for k, v in want.items() if k in have or v is not None}
        if have != want and have != REDACTED:
            out.append(f"{key} is {have!r} in Airflow, {want!r} in the file")
    return out


def apply(declared: list[Declared], store: Store, read_field, *, overwrite_drift: bool = False) -> Report:
    """Apply every declaration; never raises for one object's problem (it is reported and skipped)."""
    report = Report()
    state_row = store.read("variable", STATE_VARIABLE)
    try:
        state = json.loads((state_row or {}).get("value") or "{}")
    except ValueError:
        state = {}
    new_state = dict(state)
    for item in declared:
        what = f"{item.kind} {item.name!r} (line {item.line})"
        try:
            desired, secrets = resolve(item, read_field)
        except Exception as error:  # a missing item or field, an unreachable Connect: this object only
            report.problems.append(f"{what}: {error}")
            continue
        try:
            current = store.read(item.kind, item.name)
            if item.kind == "pool" and item.name == "default_pool" and current is not None:
                desired["description"] = current["description"]  # Airflow's own; its API refuses to change it
            stamp = fingerprint(item)
            if current is None:
                store.write(item.kind, item.name, desired, exists=False)
                report.created.append(what)
            else:
                differences = _differences(_visible(current, secrets), _visible(desired, secrets))
                if not differences:
                    secret_changed = store.sees_secrets and any(
                        current.get(p) != desired.get(p) for p in secrets if "." not in p)
                    if secrets and (secret_changed or not store.sees_secrets):
                        store.write(item.kind, item.name, desired, exists=True)  # follow 1Password
                    report.unchanged.append(what)
                elif state.get(item.key) == stamp and not overwrite_drift:
                    report.drift.append(f"{what}: " + "; ".join(differences) +
                                        " (changed in Airflow by hand?); left as it is")
                    continue
                else:
                    store.write(item.kind, item.name, desired, exists=True)
                    report.updated.append(f"{what}: " + "; ".join(differences))
            new_state[item.key] = stamp
        except Exception as error:
            report.problems.append(f"{what}: {type(error).__name__}: {error}")
    if new_state != state:
        try:
            store.write("variable", STATE_VARIABLE, {"value": json.dumps(new_state, sort_keys=True),
                                                     "description": STATE_DESCRIPTION}, exists=state_row is not None)
        except Exception as error:
            report.problems.append(f"remembering what was applied: {type(error).__name__}: {error}")
    return report
