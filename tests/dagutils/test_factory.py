"""The DAG factory: a YAML config becomes a DAG; a bad one is one import error naming the file and the field."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from dagutils.factory import ConfigError, dag_from_yaml
from dagutils.factory.stubs import STUB, problems, write

CONFIGS = Path(__file__).resolve().parents[2] / "dags" / "configs"

GOOD = """\
schedule: "@daily"
owner: data
tags: [test]
tasks:
  - {id: a, kind: empty}
  - {id: b, kind: bash, command: "echo hi", depends_on: [a]}
  - {id: c, kind: python, callable: "statistics:mean", kwargs: {data: [1, 2]}, depends_on: [a]}
"""


def config(tmp_path: Path, text: str, name: str = "sample") -> str:
    """Write a config and its DAG file into a configs/ folder; return the DAG file's path."""
    folder = tmp_path / "configs"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(text)
    (folder / f"{name}.py").write_text(STUB)
    return str(folder / f"{name}.py")


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        dag_from_yaml(config(tmp_path, text))
    return str(caught.value)


def test_a_config_becomes_a_dag_with_its_settings_and_dependencies(tmp_path):
    dag = dag_from_yaml(config(tmp_path, GOOD))
    assert dag.dag_id == "sample"
    assert dag.tags == {"test"} and dag.owner == "data"
    assert dag.default_args["retries"] == 1 and dag.dagrun_timeout.total_seconds() == 3600
    assert {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks} == {"a": [], "b": ["a"], "c": ["a"]}
    assert type(dag.get_task("b")).__name__ == "BashOperator"
    assert dag.get_task("c").op_kwargs == {"data": [1, 2]}


def test_a_factory_dag_keeps_every_house_rule(tmp_path):
    from webhook.deploy import integrity

    assert integrity.broken(dag_from_yaml(config(tmp_path, GOOD))) == []


@pytest.mark.parametrize(("change", "expected"), [
    # a wrong type
    (("tags: [test]", "tags: [test]\nretries: many"),
     "configs/sample.yaml: retries: Input should be a valid integer, unable to parse string as an integer, got 'many'"),
    # an unknown task kind
    (("kind: bash", "kind: sql"), "configs/sample.yaml: tasks[1] (b).kind: unknown task kind 'sql' "
                                  "(kinds: bash, empty, python)"),
    # a cycle
    (("{id: a, kind: empty}", "{id: a, kind: empty, depends_on: [c]}"),
     "configs/sample.yaml: tasks.depends_on: dependency cycle a -> c -> a"),
    # a missing field
    (("owner: data\n", ""), "configs/sample.yaml: owner: missing (required)"),
    # a missing parameter of a task kind
    (('command: "echo hi", ', ""), "configs/sample.yaml: tasks[1] (b).command: missing (required)"),
    # a parameter of the wrong type
    (("kwargs: {data: [1, 2]}", "kwargs: [1, 2]"), "configs/sample.yaml: tasks[2] (c).kwargs: Input should be "
                                                   "a valid dictionary, got [1, 2]"),
    (("depends_on: [a]}", "depends_on: [z]}"), "configs/sample.yaml: tasks[1] (b).depends_on: unknown task 'z'"),
    (("{id: a,", "{id: b,"), "configs/sample.yaml: tasks[1] (b).id: duplicate task id"),
    (("owner: data", "owner: airflow"), "configs/sample.yaml: owner: 'airflow' is Airflow's default"),
    (("tags: [test]", "tags: [test]\ncolour: blue"), "configs/sample.yaml: colour: unknown field"),
    (('"statistics:mean"', '"statistics:median_of_nothing"'),
     "configs/sample.yaml: tasks[2] (c).callable: cannot import 'statistics:median_of_nothing'"),
    (("tasks:", "tasks: ["), "configs/sample.yaml: line 5: not valid YAML"),
])
def test_a_bad_config_is_one_error_naming_file_field_and_problem(tmp_path, change, expected):
    old, new = change
    assert old in GOOD
    message = error(tmp_path, GOOD.replace(old, new, 1))
    assert message.startswith(expected), message


def test_a_config_that_is_not_a_mapping(tmp_path):
    assert error(tmp_path, "- a\n") == "configs/sample.yaml: must be a mapping of DAG settings, got list"


def dagbag(folder: Path):
    from airflow.dag_processing.dagbag import DagBag

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pathspec, inside Airflow's .airflowignore code
        return DagBag(dag_folder=str(folder), bundle_path=folder, bundle_name="test")


def test_one_bad_config_is_one_import_error_and_the_others_load(tmp_path):
    config(tmp_path, GOOD, "good_one")
    config(tmp_path, GOOD.replace("kind: bash", "kind: sql"), "bad_one")
    config(tmp_path, GOOD.replace("@daily", "@hourly"), "good_two")
    bag = dagbag(tmp_path)
    assert sorted(bag.dag_ids) == ["good_one", "good_two"]
    assert list(bag.import_errors) == ["configs/bad_one.py"]
    assert ("ConfigError: configs/bad_one.yaml: tasks[1] (b).kind: unknown task kind 'sql'"
            in bag.import_errors["configs/bad_one.py"])


def test_the_shipped_configs_build_and_have_their_dag_files(tmp_path):
    assert problems(CONFIGS) == []
    bag = dagbag(CONFIGS)
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == ["factory-daily-checks", "factory-hello", "factory-python-report"]


def test_stubs_are_written_for_new_configs_and_checked(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    shutil.copy(CONFIGS / "factory-hello.yaml", folder / "hello.yaml")
    (folder / "orphan.py").write_text(STUB)
    assert problems(folder) == ["hello.yaml has no DAG file hello.py", "orphan.py has no config orphan.yaml"]
    assert write(folder) == [folder / "hello.py"]
    assert (folder / "hello.py").read_text() == STUB
