"""Backup and restore under compose, with the commands documentation/upgrading.md gives the operator.

The session's compose stack runs DAGs; `python -m stackctl.backup` in the `airflow-cli` service backs it up while
it works, into a host folder mounted at /backups. The restore goes into the cheapest fresh stack there is: a
second compose project with only its `postgres` running and empty volumes (what a new host, or a stack whose
volumes were lost, starts from). The operator keeps the credentials apart from the backups, so that project gets
the same .env. What a user would check there: the DAG runs (`airflow dags list-runs`) and the deploy history
(`python -m webhook.deploy.history`) are back. The images other than ours are stand-ins
(tests/compose/images/README.md): the Airflow one ships Debian's PostgreSQL client, as the official one does.
"""

from __future__ import annotations

import json
import stat
import subprocess

import pytest

from stacktest.compose import IMAGE_UID, ComposeStack
from stacktest.deploys import status

pytestmark = pytest.mark.compose


def backup_command(stack: ComposeStack, folder, *args: str) -> subprocess.CompletedProcess:
    """`docker compose run --rm --no-deps -v "$PWD/backups:/backups" airflow-cli python -m stackctl.backup ...`"""
    return stack.compose("run", "--rm", "--no-deps", "-v", f"{folder}:/backups", "airflow-cli", "python", "-m",
                         "stackctl.backup", *args, check=False, timeout=600)


@pytest.fixture(scope="module")
def backed_up(compose_stack, tmp_path_factory):
    """A finished run; a second run under way while two backups (keep 1) are taken; a refused restore."""
    folder = tmp_path_factory.mktemp("compose-backups")
    subprocess.run(["chown", f"{IMAGE_UID}:0", str(folder)], check=True)  # as upgrading.md says
    folder.chmod(0o700)
    done = compose_stack.trigger_dag("stack-smoke")
    assert compose_stack.wait_run("stack-smoke", done, timeout=300) == "success"
    busy = compose_stack.trigger_dag("stack-smoke")
    outputs = [backup_command(compose_stack, folder, "--keep", "1") for _ in range(2)]
    busy_state = compose_stack.wait_run("stack-smoke", busy, timeout=300)
    files = sorted(folder.iterdir())
    refused = backup_command(compose_stack, folder, "restore", f"/backups/{files[-1].name}") if files else None
    return {"folder": folder, "files": files, "outputs": outputs, "refused": refused, "run": done,
            "busy_state": busy_state, "deploys": [d["id"] for d in status(compose_stack)["deploys"]]}


def test_backups_of_a_running_stack_are_kept_n_and_private(backed_up):
    assert [o.returncode for o in backed_up["outputs"]] == [0, 0], [o.stderr for o in backed_up["outputs"]]
    [kept] = backed_up["files"]
    assert kept.name.startswith("gitops-airflow-") and kept.name.endswith(".tar.gz")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert f"wrote /backups/{kept.name}" in backed_up["outputs"][1].stdout
    assert "removed gitops-airflow-" in backed_up["outputs"][1].stdout
    assert backed_up["busy_state"] == "success", "the run under way while the backups were taken"


def test_restore_refuses_the_running_stack(backed_up):
    refused = backed_up["refused"]
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "the stack is running" in refused.stderr and "docker compose down" in refused.stderr


@pytest.fixture
def fresh_project(compose_stack):
    """A second project of the same .env with only PostgreSQL up, on new, empty volumes."""
    fresh = ComposeStack(f"{compose_stack.project}-restore", compose_stack.workdir, dict(compose_stack.env),
                         docker=compose_stack.docker)
    fresh.write()
    try:
        fresh.compose("up", "-d", "--wait", "postgres", timeout=300)
        yield fresh
    finally:
        fresh.down()


def test_restore_into_a_fresh_project_brings_back_runs_and_deploys(backed_up, fresh_project):
    [kept] = backed_up["files"]
    restored = backup_command(fresh_project, backed_up["folder"], "restore", f"/backups/{kept.name}")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"restore: /backups/{kept.name}" in restored.stdout
    # one container for both questions (each container start costs seconds)
    check = fresh_project.compose(
        "run", "--rm", "--no-deps", "-e", "AIRFLOW__METRICS__STATSD_ON=False", "airflow-cli", "bash", "-c",
        "python -m webhook.deploy.history && echo '--- runs' && airflow dags list-runs stack-smoke -o plain",
        timeout=600)
    history, runs = check.stdout.split("--- runs", 1)
    deploys = [json.loads(line)["id"] for line in history.splitlines() if line.startswith("{")]
    assert deploys and set(backed_up["deploys"]) <= set(deploys)
    [line] = [line for line in runs.splitlines() if backed_up["run"] in line]
    assert "success" in line.split()
