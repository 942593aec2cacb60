"""DAG code imported during validation sees none of the webhook's secrets, and leaves nothing running."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import signal

import pytest

from tests.webhook.conftest import read_status, signed
from webhook import settings
from webhook.deploy import validation_env
from webhook.deploy.history import History
from webhook.deploy.pipeline import Context
from webhook.deploy.runner import Runner
from webhook.deploy.validation import Validator

# What the stack hands the webhook (docker-compose.yaml, stackctl), and a few it may one day.
SECRET_NAMES = (
    "AIRFLOW__API_AUTH__JWT_SECRET", "_AIRFLOW_WWW_USER_PASSWORD", "OP_INFRA_TOKEN", "OP_API_TOKEN",
    "OP_CONNECT_TOKEN", "WEBHOOK_KEY", "WEBHOOK_PREVIOUS_KEY", "REDIS_PASSWORD", "POSTGRES_PASSWORD",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "FLOWER_PASSWORD", "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CELERY__FLOWER_BASIC_AUTH", "AIRFLOW__SECRETS__BACKEND_KWARGS",
    "FLOWER_BASIC_AUTH", "CELERY_BROKER_URL",
    "AIRFLOW_CONN_SLACK", "AIRFLOW_VAR_API_KEY", "SMEE_URL", "GITHUB_TOKEN", "SOME_FUTURE_CREDENTIAL",
)
# Values Airflow accepts, so that without the allow-list the import really runs with them.
SHAPES = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:{}@127.0.0.1:9/airflow",
          "AIRFLOW__CELERY__BROKER_URL": "redis://:{}@127.0.0.1:9/0", "CELERY_BROKER_URL": "redis://:{}@127.0.0.1:9/0",
          "AIRFLOW__CELERY__RESULT_BACKEND": "db+postgresql://airflow:{}@127.0.0.1:9/airflow",
          "AIRFLOW__SECRETS__BACKEND_KWARGS": '{{"token": "{}"}}', "AIRFLOW_CONN_SLACK": "slack://:{}@"}
LOOKS_SECRET = re.compile(r"KEY|SECRET|PASSWORD|PASSWD|TOKEN|CONN|CREDENTIAL|AUTH|URL|DSN|_CMD$", re.I)

# Imported by the validation child: everything it can see goes into its import error, and into a file the
# test reads, so a leak shows even if the message were cut short. "airflow" and "dag" make DagBag import it.
LEAKY_DAG = '''"""A hostile airflow dag file: it tries to read secrets at import time."""
import os

seen = sorted(set(os.environ.values()))
try:
    with open(f"/proc/{os.getppid()}/environ", "rb") as fh:
        seen += fh.read().decode(errors="replace").split("\\0")
except OSError as exc:
    seen.append(f"parent environ unreadable: {exc}")
with open(OUT, "w") as fh:
    fh.write("\\n".join(seen))
raise RuntimeError("SEEN " + " | ".join(seen))
'''

# Leaves a detached process behind that records its pid, to outlive the check if it can.
LINGERING_DAG = '''"""An airflow dag file that leaves a detached process running."""
import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(OUT + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.rename(OUT + ".tmp", OUT)
        time.sleep(300)
        os._exit(0)
    os._exit(0)
while not os.path.exists(OUT):
    time.sleep(0.01)
raise RuntimeError("left something behind")
'''


def test_the_environment_is_an_allow_list_without_anything_secret(tmp_path):
    environ = {name: f"value-of-{name}" for name in SECRET_NAMES}
    environ.update(PATH="/usr/bin:/bin", LANG="C.UTF-8", LC_ALL="C.UTF-8", LC_SECRET="no", TZ="UTC",
                   HOME="/home/operator",
                   AIRFLOW_HOME="/opt/airflow", PYTHONPATH="/opt/extra", ENVIRONMENT="production",
                   AIRFLOW__CORE__DEFAULT_TIMEZONE="utc", AIRFLOW__CORE__EXECUTOR="CeleryExecutor")
    env = validation_env.build(environ, tmp_path / "home", tmp_path / "project")
    assert set(env) == {"PATH", "LANG", "LC_ALL", "TZ", "HOME", "AIRFLOW_HOME", "PYTHONPATH", "PYTHONUSERBASE",
                        "ENVIRONMENT", "AIRFLOW__CORE__DEFAULT_TIMEZONE"}
    assert env["HOME"] == str(tmp_path / "home") and env["AIRFLOW_HOME"] == str(tmp_path / "home" / "airflow")
    assert env["PYTHONPATH"] == f"{tmp_path / 'project'}:/opt/extra"
    # The list itself names nothing that could hold a credential.
    listed = (*validation_env.PASSED, *validation_env.AIRFLOW_SETTINGS)
    assert [name for name in listed if LOOKS_SECRET.search(name)] == []


@pytest.fixture
def secret_env(monkeypatch, tmp_path) -> dict[str, str]:
    """Every secret the webhook may hold, with values a leak cannot miss, set before the validator starts."""
    leaks = {name: f"leak-{name.strip('_').lower()}-{secrets.token_hex(8)}" for name in SECRET_NAMES}
    values = {name: SHAPES.get(name, "{}").format(leak) for name, leak in leaks.items()}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    values["HOME"] = str(tmp_path / "operator-home")
    monkeypatch.setenv("HOME", values["HOME"])
    return values


@pytest.fixture
def own_validator(secret_env):
    """A validation server started from the secret-laden environment (the session's one predates it)."""
    made = Validator(timeout=120, bundle_name="gitops")
    yield made
    made.close()


def test_a_commit_that_prints_its_environment_leaks_no_secret(make_app, origin, own_validator, runners,
                                                               secret_env, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="webhook")
    app = make_app()
    cfg = settings.get(app)
    runner = Runner(cfg, Context.build(cfg, validator=own_validator))
    runners.append(runner)
    seen_file = tmp_path / "seen.txt"
    commit = origin.commit({"dags/leaky.py": LEAKY_DAG.replace("OUT", repr(str(seen_file)))}, "leaky")
    client = app.test_client()
    deploy_id = client.post("/webhook", json={"commit": commit}, headers=signed(commit)).json["deploy_id"]
    runner.run_pending()

    record = read_status(client, deploy_id)
    assert record["state"] == "rejected", record
    seen = seen_file.read_text()
    places = {
        "what the DAG saw": seen,
        "the full status": json.dumps(record),
        "the public status": client.get(f"/deploys/{deploy_id}").get_data(as_text=True),
        "the status page": client.get("/?format=json").get_data(as_text=True),
        "the history": json.dumps(list(History(app.extensions["state"]).deploys().values())),
        "the log": caplog.text,
    }
    leaks = [f"{name} in {place}" for name, value in secret_env.items()
             for place, text in places.items() if value in text]
    assert leaks == []
    assert runner.ctx.mirror.deployed() is None
    assert record["problems"][0]["exception"] == "RuntimeError"
    assert "SEEN" in record["detail"]  # the message did come through: it just holds nothing secret


def test_a_process_left_behind_by_a_dag_file_is_ended(validator, tmp_path):
    pid_file = tmp_path / "pid"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "lingering.py").write_text(LINGERING_DAG.replace("OUT", repr(str(pid_file))))
    report = validator.check(dags, tmp_path / "report.json")
    assert report["ok"] is False
    pid = int(pid_file.read_text())
    try:
        # The server answers only after ending (and reaping) what the job left behind.
        assert not os.path.exists(f"/proc/{pid}")
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_packages_installed_for_the_user_stay_importable_under_the_new_home(tmp_path):
    """The Airflow image installs Airflow under ~/.local; a fresh HOME hid it and every validation failed
    ("DAG validation server exited unexpectedly", the compose stack's first deploy)."""
    import site
    import subprocess
    import sys

    python = sys._base_executable  # a virtualenv's interpreter ignores user site-packages; the image's does not
    user_base = tmp_path / "user-base"
    packages = subprocess.run([python, "-c", "import site; print(site.getusersitepackages())"],
                              env={"PYTHONUSERBASE": str(user_base)}, capture_output=True, text=True,
                              check=True).stdout.strip()
    os.makedirs(packages)
    with open(os.path.join(packages, "only_in_user_site.py"), "w") as handle:
        handle.write("FOUND = True\n")
    env = validation_env.build({"PATH": os.environ["PATH"], "PYTHONUSERBASE": str(user_base)}, tmp_path / "home",
                               tmp_path)
    probe = subprocess.run([python, "-c", "import only_in_user_site; print(only_in_user_site.FOUND)"],
                           env=env, capture_output=True, text=True)
    assert probe.stdout.strip() == "True", probe.stderr
    # without a PYTHONUSERBASE of its own, the webhook's user base is kept
    assert validation_env.build({}, tmp_path / "home", tmp_path)["PYTHONUSERBASE"] == site.getuserbase()
