"""Reading dags/bootstrap.yaml: what is accepted, and bad input refused with the line that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrapfile.spec import BootstrapFileError, Reference, parse

REAL_FILE = Path(__file__).resolve().parents[2] / "dags" / "bootstrap.yaml"


def test_the_committed_file_declares_the_default_pool_the_slack_and_warehouse_connections():
    declared = {d.key: d for d in parse(REAL_FILE.read_text(), {"POSTGRES_HOST": "127.0.0.1",
                                                                 "POSTGRES_PORT": "25432"})}
    assert declared["pool:default_pool"].spec["slots"] > 0
    assert declared["pool:warehouse"].spec["slots"] >= 1
    assert declared["connection:slack"].spec == {"": Reference("connections/slack", None, 31)}
    warehouse = declared["connection:warehouse"].spec
    assert (warehouse["host"], warehouse["port"]) == ("127.0.0.1", 25432)
    assert warehouse["password"].item == "Warehouse database"


def test_without_the_environment_the_compose_defaults_apply():
    warehouse = {d.key: d for d in parse(REAL_FILE.read_text(), {})}["connection:warehouse"].spec
    assert (warehouse["host"], warehouse["port"]) == ("postgres", 5432)


@pytest.mark.parametrize("text, message", [
    ("pools:\n  ok: 3\n  bad:\n    slots: -1\n", "line 4: pool 'bad' has negative slots (-1)"),
    ("pools:\n  bad: -2\n", "line 2: pool 'bad' has negative slots (-2)"),
    ("pools:\n  p:\n    slots: many\n", "line 3: pool 'p' needs slots, a whole number"),
    ("pools:\n  p:\n    slots: 1\n    colour: red\n", "line 4: pool 'p' has unknown setting 'colour'"),
    ("connections:\n  db:\n    conn_type: postgres\n    password: hunter2\n",
     "line 4: connection 'db' password must be a 1Password reference"),
    ("connections:\n  db:\n    conn_type: postgres\n    password:\n      onepassword: Item\n",
     "line 4: connection 'db' password names the 1Password item 'Item' but no field"),
    ("connections:\n  db:\n    host: x\n", "line 2: connection 'db' needs a conn_type"),
    ("connections:\n  db:\n    conn_type: postgres\n    host: ${NOPE_NOT_SET}\n",
     "line 4: ${NOPE_NOT_SET} is not set"),
    ("variables:\n  v: [1, 2]\n", "line 2: variable 'v' needs a value"),
    ("pools:\n  a: 1\n  a: 2\n", "line 3: 'a' is declared twice"),
    ("pool:\n  a: 1\n", "line 1: unknown section 'pool'"),
    ("pools: [\n", "not valid YAML"),
])
def test_bad_input_is_refused_with_its_line(text, message):
    with pytest.raises(BootstrapFileError) as caught:
        parse(text, {})
    assert message in str(caught.value)


def test_values_may_come_from_the_environment_or_a_default():
    text = "variables:\n  a: ${A_VALUE}\n  b: ${B_VALUE-fallback}\n  c: true\n"
    values = {d.name: d.spec["value"] for d in parse(text, {"A_VALUE": "from env"})}
    assert values == {"a": "from env", "b": "fallback", "c": "true"}
