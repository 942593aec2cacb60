"""The validation command the deploy and the pull-request workflow share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stacktest.gitrepo import CYCLE_DAG, NO_TAGS_DAG, good_dag

PROJECT = Path(__file__).resolve().parents[2]


def validate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "webhook.deploy.validate_dags", *args], cwd=PROJECT,
                          capture_output=True, text=True, timeout=120)


def test_the_repository_dags_pass_the_deploy_gate(tmp_path):
    report = tmp_path / "report.json"
    result = validate("dags", "--json", str(report))
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["ok"] is True and data["problems"] == []
    assert "weather_checker" in " ".join(data["dag_ids"]).replace("-", "_")


def test_problems_are_listed_and_fail_the_command(tmp_path):
    (tmp_path / "good.py").write_text(good_dag("fine"))
    (tmp_path / "loop.py").write_text(CYCLE_DAG.format(dag_id="loop"))
    result = validate(str(tmp_path))
    assert result.returncode == 1
    assert "cycle: loop.py" in result.stderr
    assert "REJECTED: 1 DAGs, 1 problems" in result.stderr


def test_a_missing_folder_is_a_usage_error(tmp_path):
    result = validate(str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "DAGS_FOLDER must be an existing folder" in result.stderr


def repository(root: Path, policy: str | None = None, dag: str = NO_TAGS_DAG.format(dag_id="untagged", marker="x"),
               name: str = "untagged.py") -> Path:
    """A DAG repository: dags/ with one DAG (by default one without tags), and the policy beside it."""
    dags = root / "dags"
    dags.mkdir()
    (dags / name).write_text(dag)
    if policy is not None:
        (root / "deploy-policy.yaml").write_text(policy)
    return dags


def test_house_rules_warn_under_the_default_policy(tmp_path):
    report = tmp_path / "report.json"
    result = validate(str(repository(tmp_path)), "--json", str(report))
    assert result.returncode == 0, result.stderr
    assert json.loads(report.read_text())["warnings"] == [{"file": "untagged.py", "dag_id": "untagged",
                                                           "rule": "tags"}]
    assert "warning: untagged.py: DAG untagged has no tags (policy: tags: warn)" in result.stderr
    assert "OK: 1 DAGs, 0 problems, 1 warnings" in result.stderr


def test_the_policy_beside_the_dags_folder_can_block_a_rule(tmp_path):
    result = validate(str(repository(tmp_path, "version: 1\nrules:\n  tags: block\n")))
    assert result.returncode == 1
    assert "integrity: untagged.py: DAG untagged has no tags (policy: tags: block)" in result.stderr


def test_a_rule_set_off_is_not_reported(tmp_path):
    result = validate(str(repository(tmp_path, "rules: {tags: 'off'}\n")))
    assert result.returncode == 0 and "0 warnings" in result.stderr


def test_a_bad_policy_rejects_with_its_line_and_field_and_the_dags_are_still_checked(tmp_path):
    dags = repository(tmp_path, "version: 1\nrules:\n  timeout: sometimes\n", CYCLE_DAG.format(dag_id="loop"),
                      "loop.py")
    result = validate(str(dags))
    assert result.returncode == 1
    assert ("policy: deploy-policy.yaml: deploy-policy.yaml, line 3, rules.timeout: must be off, warn or "
            "block, got 'sometimes'") in result.stderr
    assert "cycle: loop.py" in result.stderr


def test_in_a_github_workflow_problems_and_warnings_are_annotations(tmp_path):
    repository(tmp_path, "rules: {owner: never}\n")
    result = subprocess.run([sys.executable, "-m", "webhook.deploy.validate_dags", "dags"], cwd=tmp_path,
                            env={**os.environ, "GITHUB_ACTIONS": "true", "PYTHONPATH": str(PROJECT)},
                            capture_output=True, text=True, timeout=120)
    assert "::warning file=dags/untagged.py::warning: untagged.py: DAG untagged has no tags" in result.stderr
    assert "::error file=deploy-policy.yaml::policy: deploy-policy.yaml" in result.stderr
