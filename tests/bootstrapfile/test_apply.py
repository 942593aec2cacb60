"""The applier's rules with an in-memory store: create, leave alone, update when the file changed, report drift
when Airflow was changed by hand, follow 1Password for secrets, skip only what a missing item concerns."""

from __future__ import annotations

import copy

from bootstrapfile.apply import apply
from bootstrapfile.spec import parse
from bootstrapfile.stores import STATE_VARIABLE

FILE = """
pools:
  warehouse:
    slots: 2
variables:
  greeting: hello
connections:
  db:
    conn_type: postgres
    host: db.example
    login: app
    password: {onepassword: Database, field: password}
"""
SECRETS = {("Database", "password"): "s3cret"}


class MemoryStore:
    def __init__(self, sees_secrets=True):
        self.sees_secrets = sees_secrets
        self.objects: dict[tuple[str, str], dict] = {}
        self.writes: list[tuple[str, str]] = []

    def read(self, kind, name):
        found = self.objects.get((kind, name))
        return copy.deepcopy(found) if found is not None else None

    def write(self, kind, name, value, exists):
        assert exists == ((kind, name) in self.objects)
        self.objects[(kind, name)] = copy.deepcopy(value)
        if name != STATE_VARIABLE:
            self.writes.append((kind, name))


def reader(secrets=SECRETS):
    def read(reference):
        try:
            return secrets[(reference.item, reference.field)]
        except KeyError:
            raise LookupError(f"1Password item {reference.item!r} has no field {reference.field!r}") from None
    return read


def test_a_first_apply_creates_everything_and_a_second_changes_nothing():
    store = MemoryStore()
    first = apply(parse(FILE, {}), store, reader())
    assert len(first.created) == 3 and not first.drift and not first.problems
    assert store.objects[("connection", "db")]["password"] == "s3cret"
    store.writes.clear()
    second = apply(parse(FILE, {}), store, reader())
    assert len(second.unchanged) == 3 and store.writes == []


def test_a_change_made_by_hand_is_reported_as_drift_and_left_as_it_is():
    store = MemoryStore()
    apply(parse(FILE, {}), store, reader())
    store.objects[("pool", "warehouse")]["slots"] = 5
    store.objects[("connection", "db")]["host"] = "elsewhere.example"
    report = apply(parse(FILE, {}), store, reader())
    assert [line.split(":")[0] for line in report.drift] == ["pool 'warehouse' (line 3)",
                                                             "connection 'db' (line 8)"]
    assert "slots is 5 in Airflow, 2 in the file" in report.drift[0]
    assert store.objects[("pool", "warehouse")]["slots"] == 5
    assert "bootstrap: DRIFT pool 'warehouse'" in "\n".join(report.lines())
    forced = apply(parse(FILE, {}), store, reader(), overwrite_drift=True)
    assert len(forced.updated) == 2 and store.objects[("pool", "warehouse")]["slots"] == 2


def test_a_change_of_the_file_is_applied_even_over_a_hand_made_change():
    store = MemoryStore()
    apply(parse(FILE, {}), store, reader())
    store.objects[("pool", "warehouse")]["slots"] = 5
    report = apply(parse(FILE.replace("slots: 2", "slots: 3"), {}), store, reader())
    assert report.drift == [] and store.objects[("pool", "warehouse")]["slots"] == 3
    assert "slots is 5 in Airflow, 3 in the file" in report.updated[0]


def test_an_object_that_existed_before_the_file_declared_it_is_taken_over():
    store = MemoryStore()
    store.objects[("pool", "warehouse")] = {"slots": 128, "description": "", "include_deferred": False}
    report = apply(parse(FILE, {}), store, reader())
    assert report.drift == [] and store.objects[("pool", "warehouse")]["slots"] == 2


def test_secrets_follow_1password_and_a_missing_item_skips_only_its_object():
    store = MemoryStore()
    apply(parse(FILE, {}), store, reader())
    rotated = apply(parse(FILE, {}), store, reader({("Database", "password"): "rotated"}))
    assert rotated.drift == [] and store.objects[("connection", "db")]["password"] == "rotated"
    fresh = MemoryStore()
    report = apply(parse(FILE, {}), fresh, reader({}))
    assert report.problems == ["connection 'db' (line 8): 1Password item 'Database' has no field 'password'"]
    assert ("pool", "warehouse") in fresh.objects and ("connection", "db") not in fresh.objects
    assert "bootstrap: SKIPPED connection 'db'" in "\n".join(report.lines())


def test_through_the_api_secrets_cannot_be_compared_so_they_are_written_again():
    store = MemoryStore(sees_secrets=False)
    apply(parse(FILE, {}), store, reader())
    store.objects[("connection", "db")]["password"] = "***"  # what Airflow's API shows
    store.writes.clear()
    report = apply(parse(FILE, {}), store, reader())
    assert report.drift == [] and store.writes == [("connection", "db")]
    assert store.objects[("connection", "db")]["password"] == "s3cret"
