"""Field references ("section.field", ".field" or "field") and the checks made before any request."""

from __future__ import annotations

from collections.abc import Mapping

from onepasswordconnectsdk.models import Field, Item

from opconnect.errors import SecretNotFoundError, SecretSpecError

SPEC_KEYS = frozenset({"opitem", "opfield"})


def split(spec: str) -> tuple[str, str]:
    """'section.field' -> (section, field); '.field' or 'field' -> ('', field). Field labels may hold dots."""
    section, dot, label = spec.partition(".")
    return (section, label) if dot else ("", section)


def find(item: Item, spec: str, vault: str) -> Field:
    """The field `spec` of `item`; the error says which sections do have a field with that label."""
    section_label, label = split(spec)
    sections = {s.id: s.label for s in item.sections or []}
    candidates = [f for f in item.fields or [] if f.label == label]
    for candidate in candidates:
        if (sections.get(candidate.section.id) if candidate.section else "") == section_label:
            return candidate
    place = f"in section {section_label!r}" if section_label else "outside any section"
    elsewhere = sorted({sections.get(c.section.id, "?") if c.section else "(none)" for c in candidates})
    hint = f"; a field with that label exists in section(s) {', '.join(elsewhere)}" if elsewhere else ""
    raise SecretNotFoundError(f"item {item.title!r} in vault {vault!r} has no field {label!r} {place}{hint}")


def check_title(name: str, title: object) -> str:
    if not isinstance(title, str) or not title.strip():
        raise SecretSpecError(f"secret {name!r}: item title must be a non-empty string, got {title!r}")
    if '"' in title:
        raise SecretSpecError(f"secret {name!r}: item title {title!r} contains a double quote, "
                              "which Connect's title filter cannot express")
    return title


def check_field(name: str, spec: object) -> str:
    if not isinstance(spec, str) or not split(spec)[1]:
        raise SecretSpecError(f"secret {name!r}: field {spec!r} has no field label; "
                              "use '<section>.<field>' or '.<field>'")
    return spec


def check_spec(name: str, spec: object) -> tuple[str, str]:
    """Validate one load_dict entry and return (item title, field spec)."""
    if not isinstance(spec, Mapping):
        raise SecretSpecError(f"secret {name!r}: spec must be a dict with opitem and opfield, "
                              f"got {type(spec).__name__}")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise SecretSpecError(f"secret {name!r}: unknown key(s) {', '.join(unknown)}; only opitem and "
                              "opfield are allowed (the vault comes from the settings)")
    for key in sorted(SPEC_KEYS):
        if not isinstance(spec.get(key), str) or not spec[key].strip():
            raise SecretSpecError(f"secret {name!r}: {key} must be a non-empty string")
    return check_title(name, spec["opitem"]), check_field(name, spec["opfield"])
