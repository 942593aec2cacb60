"""Parsing the DAG folder must not touch the network: no secrets, Slack or HTTP calls at import time.

Every DAG file the dag-processor would parse (honouring .airflowignore) and every module under dags/ is
imported with sockets blocked; any attempt, even one the code catches and hides, fails the test.
"""

from __future__ import annotations

import importlib
import socket
import sys
import warnings
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.file import list_py_file_paths

DAGS = Path(__file__).resolve().parents[2] / "dags"
with warnings.catch_warnings():
    # pathspec deprecates the pattern class Airflow 3.3 uses for .airflowignore; not ours to fix
    warnings.simplefilter("ignore", DeprecationWarning)
    DAG_FILES = sorted(Path(p) for p in list_py_file_paths(str(DAGS), safe_mode=True))
MODULES = sorted(
    ".".join(path.relative_to(DAGS).with_suffix("").parts).removesuffix(".__init__")
    for path in DAGS.rglob("*.py")
    if path not in DAG_FILES and "__pycache__" not in path.parts
)


@pytest.fixture
def network_attempts(monkeypatch):
    """Block and record every outgoing connection and name lookup."""
    attempts: list[str] = []

    def refuse(what):
        def blocked(*args, **kwargs):
            attempts.append(f"{what}{args[1:] if what.startswith('socket.') else args}")
            raise OSError(f"network access during DAG parsing: {what}")
        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.syspath_prepend(str(DAGS))
    return attempts


def parse(path: Path) -> DagBag:
    return DagBag(dag_folder=str(path), bundle_path=path.parent, safe_mode=False)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: str(p.relative_to(DAGS)))
def test_dag_file_parses_without_network(path, network_attempts):
    bag = parse(path)
    assert network_attempts == [], f"{path.name} reached for the network while being parsed"
    assert bag.import_errors == {}


@pytest.fixture
def fresh_imports():
    """Import DAG support code afresh (so its module-level code runs here), then put back what was there."""

    def ours() -> list[str]:
        top = {path.parts[0].removesuffix(".py") for path in (p.relative_to(DAGS) for p in DAGS.iterdir())}
        return [name for name in sys.modules if name.split(".")[0] in top]

    saved = {name: sys.modules.pop(name) for name in ours()}
    yield
    for name in ours():
        del sys.modules[name]
    sys.modules.update(saved)


@pytest.mark.parametrize("module", MODULES)
def test_dag_support_module_imports_without_network(module, network_attempts, fresh_imports):
    importlib.import_module(module)
    assert network_attempts == [], f"importing {module} reached for the network"


def test_the_guard_catches_a_dag_that_calls_out_while_parsing(tmp_path, network_attempts):
    dag_file = tmp_path / "calls_out.py"
    dag_file.write_text(
        "import urllib.request\n"
        "from airflow.sdk import dag\n"
        "try:\n"
        "    urllib.request.urlopen('http://example.invalid/config', timeout=1)\n"
        "except OSError:\n"
        "    pass  # hidden failures are still caught by the guard\n"
        "@dag(schedule=None)\n"
        "def calls_out():\n"
        "    pass\n"
        "calls_out()\n"
    )
    parse(dag_file)
    assert network_attempts
