"""Reading deploy-policy.yaml: the defaults, each rule's level, and errors that name the file, line and field."""

from __future__ import annotations

import pytest

from webhook.deploy import policy


def load(tmp_path, text: str) -> policy.Policy:
    path = tmp_path / policy.FILE_NAME
    path.write_text(text)
    return policy.load(path)


def test_no_file_means_the_defaults_which_only_warn(tmp_path):
    rules = policy.load(tmp_path / policy.FILE_NAME)
    assert {rule: rules.level(rule) for rule in policy.Rules.model_fields} == {
        "tags": "warn", "tasks": "warn", "owner": "warn", "retries": "warn", "timeout": "warn"}


def test_an_empty_file_means_the_defaults(tmp_path):
    assert load(tmp_path, "# nothing yet\n") == policy.Policy()


def test_each_rule_takes_off_warn_or_block_and_the_rest_keep_their_default(tmp_path):
    rules = load(tmp_path, "version: 1\nrules:\n  owner: block\n  tags: 'off'\n")
    assert rules.level("owner") == "block" and rules.level("tags") == "off" and rules.level("retries") == "warn"


def test_an_unquoted_off_is_off(tmp_path):
    assert load(tmp_path, "rules:\n  timeout: off\n").level("timeout") == "off"


def test_the_repository_policy_is_valid():
    from pathlib import Path

    repo = policy.load(Path(__file__).resolve().parents[2] / policy.FILE_NAME)
    assert repo.level("tags") == "block"


@pytest.mark.parametrize(("text", "expected"), [
    ("version: 1\nrules:\n  tags: warn\n  owner: strict\n",
     "deploy-policy.yaml, line 4, rules.owner: must be off, warn or block, got 'strict'"),
    ("rules:\n  ownr: block\n",
     "deploy-policy.yaml, line 2, rules.ownr: unknown rule (rules are: tags, tasks, owner, retries, timeout)"),
    ("rules:\n  cycles: 'off'\n",
     "deploy-policy.yaml, line 2, rules.cycles: cycles always block a deploy; they cannot be configured"),
    ("version: 2\n", "deploy-policy.yaml, line 1, version: Input should be 1"),
    ("rules: [tags]\n", "deploy-policy.yaml, line 1, rules: Input should be a valid dictionary"),
    ("strict: true\n", "deploy-policy.yaml, line 1, strict: unknown setting (settings are: version, rules)"),
    ("- block\n", "deploy-policy.yaml, line 1: must be a mapping with 'version' and 'rules', got list"),
    ("rules:\n  tags: block\n   owner: warn\n", "deploy-policy.yaml, line 3: not valid YAML:"),
])
def test_a_bad_policy_is_refused_with_file_line_and_field(tmp_path, text, expected):
    with pytest.raises(policy.PolicyError) as caught:
        load(tmp_path, text)
    assert str(caught.value).startswith(expected), str(caught.value)
    assert caught.value.line == int(expected.split("line ")[1].split(",")[0].split(":")[0])
