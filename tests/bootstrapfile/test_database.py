"""`python -m bootstrapfile` (what `./stack up` and airflow-init run) against a real Airflow database (SQLite)
and the fake 1Password Connect with the example vaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.fake_onepassword import FakeConnect
from devtools.onepassword_store import Store

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT / "devtools" / "onepassword-items.example.json"
VAULT = "airflowdevelopmentvault001"
TOKEN = "bootstrap-test-token"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("bootstrap-home")
    os.environ.setdefault("FAKE_SLACK_URL", "http://127.0.0.1:9")
    with FakeConnect(Store.from_file(EXAMPLE), {TOKEN: frozenset({VAULT})}) as connect:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OP_", "STACK_"))}
        env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
                    "AIRFLOW__CORE__FERNET_KEY": "4BBYpwchVw3PGnaRt3z9ZhsonjgrqHS2BRqI8DYmJEw=",
                    "OP_CONNECT": connect.url, "OP_API_TOKEN": TOKEN, "OP_VAULT_ID": VAULT,
                    "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "25432", "PYTHONPATH": str(PROJECT)})
        migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                                 text=True, timeout=180)
        assert migrate.returncode == 0, migrate.stderr[-2000:]
        yield env


def bootstrap(env, *args):
    return subprocess.run([sys.executable, "-m", "bootstrapfile", *args], env=env, cwd=PROJECT,
                          capture_output=True, text=True, timeout=120)


def airflow_python(env, code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


READ = """
import json
from airflow.models import Connection, Pool, Variable
from airflow.utils.session import create_session
from sqlalchemy import select
with create_session() as s:
    pools = {p.pool: p.slots for p in s.scalars(select(Pool))}
    variables = {v.key: v.val for v in s.scalars(select(Variable))}
    conns = {c.conn_id: [c.conn_type, c.host, c.port, c.login, c.password] for c in s.scalars(select(Connection))}
print(json.dumps({"pools": pools, "variables": variables, "connections": conns}))
"""


def test_the_committed_file_is_applied_once_and_a_hand_change_is_drift(airflow_env):
    first = bootstrap(airflow_env)
    assert first.returncode == 0, first.stderr
    assert "bootstrap: 6 created, 1 updated, 0 unchanged, 0 drifted, 0 skipped" in first.stdout, first.stdout
    state = json.loads(airflow_python(airflow_env, READ))
    assert state["pools"] == {"default_pool": 32, "warehouse": 2}
    assert state["variables"]["orders_min_rows"] == "1"
    assert state["connections"]["warehouse"] == ["postgres", "127.0.0.1", 25432, "warehouse",
                                                 "development-warehouse-not-secret"]
    assert state["connections"]["slack"][0] == "slackwebhook"
    assert "development-warehouse-not-secret" not in first.stdout + first.stderr

    again = bootstrap(airflow_env)
    assert "0 created, 0 updated, 7 unchanged, 0 drifted" in again.stdout

    airflow_python(airflow_env, "from airflow.models import Pool\n"
                                "Pool.create_or_update_pool('warehouse', 7, 'raised by hand', False)")
    drifted = bootstrap(airflow_env)
    assert drifted.returncode == 0
    assert ("bootstrap: DRIFT pool 'warehouse' (line 13): description is 'raised by hand' in Airflow, "
            "'Tasks writing to the warehouse database (event_loading, organisation_statistics)' in the file; "
            "slots is 7 in Airflow, 2 in the file (changed in Airflow by hand?); left as it is") in drifted.stdout
    assert json.loads(airflow_python(airflow_env, READ))["pools"]["warehouse"] == 7


def test_a_missing_item_names_item_and_connection_and_the_rest_is_applied(airflow_env, tmp_path):
    text = ("pools:\n  extra_pool: 3\nconnections:\n  partner_api:\n    conn_type: http\n    password:\n"
            "      onepassword: Partner API\n      field: token\n")
    (tmp_path / "bootstrap.yaml").write_text(text)
    result = bootstrap(airflow_env, "--file", str(tmp_path / "bootstrap.yaml"))
    assert result.returncode == 0
    skipped = [line for line in result.stdout.splitlines() if "SKIPPED" in line]
    assert len(skipped) == 1 and "connection 'partner_api' (line 4)" in skipped[0]
    assert "'Partner API'" in skipped[0]
    assert json.loads(airflow_python(airflow_env, READ))["pools"]["extra_pool"] == 3


def test_a_pool_with_negative_slots_refuses_the_file_with_its_line(airflow_env, tmp_path):
    (tmp_path / "bootstrap.yaml").write_text("pools:\n  good: 1\n  bad:\n    slots: -4\n")
    result = bootstrap(airflow_env, "--file", str(tmp_path / "bootstrap.yaml"))
    assert result.returncode == 2
    assert "line 4: pool 'bad' has negative slots (-4)" in result.stderr
    assert "good" not in json.loads(airflow_python(airflow_env, READ))["pools"]
