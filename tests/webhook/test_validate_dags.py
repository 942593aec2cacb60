"""The validation command the deploy and the pull-request workflow share."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from stacktest.gitrepo import CYCLE_DAG, good_dag

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
