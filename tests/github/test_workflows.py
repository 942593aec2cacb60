"""The GitHub workflows: actionlint-clean, pinned by SHA, least privilege, secrets kept out of shells."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINS = {
    "actions/checkout": "3d3c42e5aac5ba805825da76410c181273ba90b1",
    "actions/setup-python": "5fda3b95a4ea91299a34e894583c3862153e4b97",
    "1Password/load-secrets-action": "92467eb28f72e8255933372f1e0707c567ce2259",
    "1Password/load-secrets-action/configure": "92467eb28f72e8255933372f1e0707c567ce2259",
}


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    assert Path(found).exists(), "actionlint is not installed (requirements-dev.txt)"
    return found


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def test_both_workflows_exist():
    assert {p.name for p in FILES} >= {"production_deployment.yml", "pull_request.yml"}


def test_actionlint_passes():
    result = subprocess.run([actionlint(), "-color=false", *map(str, FILES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_mistake(tmp_path):
    """Guard against a linter that silently checks nothing."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.pull_request.title }}\n        if: ${{ nonsense( }}\n")
    result = subprocess.run([actionlint(), "-color=false", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit(path):
    for step in steps(load(path)):
        if "uses" not in step:
            continue
        name, _, ref = step["uses"].partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{step['uses']} is not pinned by commit"
        assert PINS.get(name) == ref, f"{name} pinned to an unexpected commit"
    assert re.search(r"@[0-9a-f]{40} # v\d", path.read_text()), "pins should carry their version as a comment"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_least_privilege(path):
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert "write" not in str(job.get("permissions", ""))
    for step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_shell(path):
    """${{ }} inside run: is script injection (and leaks secrets into the script text)."""
    for step in steps(load(path)):
        assert "${{" not in step.get("run", ""), f"expression in run: {step['run']!r}"


def test_production_deploy_runs_only_for_merged_prs_into_production():
    workflow = load(WORKFLOWS / "production_deployment.yml")
    assert workflow["on"] == {"pull_request": {"branches": ["production"], "types": ["closed"]}}
    job = workflow["jobs"]["deploy"]
    assert job["if"] == "github.event.pull_request.merged == true"
    trigger = [s for s in job["steps"] if "trigger_deploy.py" in s.get("run", "")]
    assert len(trigger) == 1
    env = trigger[0]["env"]
    assert env["DEPLOY_COMMIT"] == "${{ github.event.pull_request.merge_commit_sha }}"
    assert env["WEBHOOK_KEY"] == "${{ steps.op.outputs.WEBHOOK_KEY }}"
    loader = [s for s in job["steps"] if s.get("id") == "op"][0]
    assert loader["env"]["WEBHOOK_KEY"].endswith("/Airflow Webhook/password")
    assert loader["env"]["WEBHOOK_ADDRESS"].endswith("/Airflow Webhook/smee/address")
    assert loader["with"]["export-env"] is False  # outputs are masked and scoped to the step that needs them


def test_pull_request_checks_validate_dags_and_run_the_tests():
    workflow = load(WORKFLOWS / "pull_request.yml")
    runs = " ".join(s.get("run", "") for s in steps(workflow))
    assert "python -m webhook.deploy.validate_dags dags" in runs
    assert "pytest" in runs and "ruff check" in runs
    assert "requirements-dev.txt" in runs
