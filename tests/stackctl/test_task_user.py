"""The worker apart, as the task user (stackctl/task_user.py): its folders, its environment, its supervisord."""

from __future__ import annotations

import grp
import json
import os
import stat

import pytest

from stackctl import supervisor, task_user
from stackctl.settings import GENERATED_SECRETS, load

SECRETS = {name: f"{name.lower()}-value-0123456789" for name in GENERATED_SECRETS}
NOGROUP = grp.getgrnam("nogroup").gr_gid  # stands in for the task user's group


def settings_for(state, **extra):
    return load({"STACK_STATE_DIR": str(state), "STACK_ENV_FILE": "", **SECRETS, **extra})


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder another group needs root or its membership")
def test_the_task_user_may_pass_through_write_its_folders_and_read_the_mirror_and_nothing_else(tmp_path):
    state = tmp_path / "state"
    (state / "run" / "env").mkdir(parents=True)
    (state / "secrets.env").write_text("A=b\n")
    # an older folder: task logs written when the worker ran as the stack user, a mirror, a link in the logs
    old_logs = state / "logs" / "airflow" / "dag_id=x"
    old_logs.mkdir(parents=True)
    (old_logs / "attempt=1.log").write_text("log")
    (state / "logs" / "airflow" / "secrets").symlink_to(state / "secrets.env")
    (state / "deploy" / "mirror.git" / "objects").mkdir(parents=True)
    (state / "deploy" / "history.jsonl").write_text("{}")
    settings = settings_for(state, DAG_SOURCE="gitops", DEPLOY_REPO_URL="/nowhere")

    task_user.prepare(settings, NOGROUP)

    def group(path):
        return os.lstat(path).st_gid

    assert (mode(state), group(state)) == (0o710, NOGROUP)
    assert (mode(state / "logs"), mode(state / "deploy")) == (0o710, 0o710)
    for folder in ("logs/airflow", "diagnostics", "tasks/run", "tasks/logs", "tasks/home"):
        assert (mode(state / folder), group(state / folder)) == (0o2770, NOGROUP), folder
    assert (mode(state / "tasks"), mode(state / "deploy" / "mirror.git")) == (0o2750, 0o2750)
    # what was there before is shared once, folders setgid so what comes later keeps the group
    assert group(old_logs) == group(old_logs / "attempt=1.log") == group(state / "deploy/mirror.git/objects") \
        == NOGROUP
    assert mode(old_logs) & 0o2070 == 0o2070 and mode(old_logs / "attempt=1.log") & 0o060 == 0o060
    # never what a link points at, nor the stack user's own files
    for private in ("secrets.env", "run", "run/env", "deploy/history.jsonl"):
        assert group(state / private) != NOGROUP, private
    assert "directory = " + str(state / "deploy" / "mirror.git") in (state / "tasks" / "gitconfig").read_text()
    assert (mode(state / "tasks" / "gitconfig"), group(state / "tasks" / "gitconfig")) == (0o640, NOGROUP)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder another group needs root or its membership")
def test_a_link_in_place_of_a_shared_folder_is_refused(tmp_path):
    state = tmp_path / "state"
    (state / "logs").mkdir(parents=True)
    (state / "logs" / "airflow").symlink_to(tmp_path)
    with pytest.raises(RuntimeError, match="logs/airflow is not a folder of the stack user's"):
        task_user.prepare(settings_for(state), NOGROUP)


def test_apart_the_worker_has_its_own_folders_and_only_the_task_folder_holds_its_environment(tmp_path):
    settings = settings_for(tmp_path)
    (tmp_path / "tasks").mkdir()
    supervisor.write_env_files(settings, apart=True)
    spec = json.loads((tmp_path / "tasks" / "airflow-worker.json").read_text())
    assert not (tmp_path / "run" / "env" / "airflow-worker.json").exists()
    assert (tmp_path / "run" / "env" / "airflow-apiserver.json").exists()
    assert mode(tmp_path / "tasks" / "airflow-worker.json") == 0o640  # the task user reads it through its group
    env = spec["env"]
    home = str(tmp_path / "tasks" / "home")
    assert env["HOME"] == env["AIRFLOW_HOME"] == home
    assert env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH"] == f"{home}/dag_bundles"
    assert env["GIT_CONFIG_GLOBAL"] == str(tmp_path / "tasks" / "gitconfig")
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] == str(tmp_path / "logs" / "airflow")  # the api-server's


def test_apart_the_worker_leaves_the_stack_users_supervisord_for_the_task_users(tmp_path):
    settings = settings_for(tmp_path)
    stack, tasks = supervisor.render(settings, apart=True), supervisor.render_tasks(settings)
    assert "[program:airflow-worker]" not in stack and "[program:airflow-scheduler]" in stack
    assert [line for line in tasks.splitlines() if line.startswith("[program:")] == ["[program:airflow-worker]"]
    assert f'STACK_SPEC_DIR="{tmp_path / "tasks"}"' in tasks
    assert "umask=007" in tasks and "chmod=0770" in tasks and f"file={tmp_path}/tasks/run/supervisor.sock" in tasks
    assert f"stdout_logfile={tmp_path}/tasks/logs/airflow-worker.log" in tasks
    assert "chmod=0700" in stack and "umask=027" in stack
    assert "[program:airflow-worker]" in supervisor.render(settings)  # without root: one supervisord for all


def test_which_supervisord_runs_a_program_follows_the_last_up(tmp_path):
    settings = settings_for(tmp_path)
    assert supervisor.of(settings, "airflow-worker") == supervisor.main(settings)
    assert supervisor.log_path(settings, "airflow-worker") == tmp_path / "logs" / "airflow-worker.log"
    (tmp_path / "tasks").mkdir()
    task_user.write_config(settings, supervisor.render_tasks(settings))
    assert supervisor.of(settings, "airflow-worker") == supervisor.for_tasks(settings)
    assert supervisor.of(settings, "airflow-scheduler") == supervisor.main(settings)
    assert supervisor.log_path(settings, "airflow-worker") == tmp_path / "tasks" / "logs" / "airflow-worker.log"
    assert len(supervisor.instances(settings)) == 2
    task_user.forget(settings)
    assert supervisor.instances(settings) == [supervisor.main(settings)]
