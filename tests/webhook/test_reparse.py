"""Which DAG files a deploy has Airflow parse again (webhook/deploy/reparse.py), on real folders."""

from __future__ import annotations

from pathlib import Path

from webhook.deploy.reparse import affected

TREE = {
    "alpha.py": "from shared.util import helper\n",
    "beta.py": "import shared.other\n",
    "gamma.py": "from team import dag\n",  # the package's __init__ and dag.py
    "team/__init__.py": "",
    "team/dag.py": "from .helpers import x\n",  # relative: team/helpers.py
    "team/helpers.py": "",
    "lonely.py": "import json\n",
    "factory.py": "from shared.loader import build\n",
    "shared/__init__.py": "",
    "shared/util.py": "",
    "shared/other.py": "try:\n    import shared.gone\nexcept ImportError:\n    pass\n",
    "shared/loader.py": "import importlib\ndef build(name):\n    return importlib.import_module(name)\n",
    "configs/report.yaml": "a: 1\n",
}
DAG_FILES = {"alpha.py", "beta.py", "gamma.py", "lonely.py", "factory.py"}


def tree(tmp_path: Path) -> Path:
    for name, text in TREE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_a_changed_dag_file_is_parsed_again_with_those_loading_code_by_name(tmp_path):
    # factory.py reaches importlib.import_module: it may load any file, so it is parsed again too
    assert affected(tree(tmp_path), ["lonely.py"], DAG_FILES) == ["factory.py", "lonely.py"]


def test_shared_code_reparses_its_importers_through_every_kind_of_import(tmp_path):
    folder = tree(tmp_path)
    assert affected(folder, ["shared/util.py"], DAG_FILES) == ["alpha.py", "factory.py"]
    # alpha and beta run shared/__init__.py; factory too
    assert affected(folder, ["shared/__init__.py"], DAG_FILES) == ["alpha.py", "beta.py", "factory.py"]
    assert affected(folder, ["team/helpers.py"], DAG_FILES) == ["factory.py", "gamma.py"]
    # a deleted module that an unchanged file still tries to import
    assert affected(folder, ["shared/gone.py"], DAG_FILES) == ["beta.py", "factory.py"]


def test_the_changed_dag_files_come_last_since_airflow_parses_the_last_request_first(tmp_path):
    assert affected(tree(tmp_path), ["alpha.py", "shared/util.py"], DAG_FILES) == ["factory.py", "alpha.py"]


def test_anything_but_python_changed_means_every_file(tmp_path):
    assert affected(tree(tmp_path), ["configs/report.yaml"], DAG_FILES) is None
    assert affected(tree(tmp_path), [".airflowignore", "alpha.py"], DAG_FILES) is None


def test_a_file_python_cannot_parse_means_every_file(tmp_path):
    folder = tree(tmp_path)
    (folder / "shared" / "util.py").write_text("def broken(:\n")
    assert affected(folder, ["shared/util.py"], DAG_FILES) is None


def test_nothing_of_python_changed_means_no_file(tmp_path):
    assert affected(tree(tmp_path), [], DAG_FILES) == []
