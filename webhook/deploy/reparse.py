"""Which DAG files a deploy asks Airflow to parse again: those whose code changed, directly or through a module
of the DAG folder they import (read from the import statements, as Python would resolve them with the folder
on sys.path); every DAG file when that cannot be told.

Every file is "unsure" when a changed file under the DAG folder is not Python (a YAML config, a SQL template, an
.airflowignore: read at parse time or in a task, by code we do not follow), or a Python file does not parse.
A DAG file that reaches a module importing by name at run time (importlib.import_module, __import__, exec...)
is parsed again whenever any Python file changed. A DAG file not parsed again keeps the bundle version it was
parsed at, whose code is the same as the new commit's, so its runs do not change.
"""

from __future__ import annotations

import ast
from pathlib import Path

# Calls that load code named at run time: whatever reaches them may depend on any file.
DYNAMIC_CALLS = frozenset({"import_module", "__import__", "exec", "run_path", "run_module", "spec_from_file_location",
                           "SourceFileLoader", "load_source"})


def affected(tree: Path, changed: list[str], dag_files: set[str]) -> list[str] | None:
    """The DAG files (relative to `tree`, the DAG folder) to parse again after `changed` (relative to `tree`
    too; paths outside it left out by the caller), those depending on a changed module first and the changed
    files themselves last (Airflow parses the last requested first); None means every file."""
    if any(not path.endswith(".py") for path in changed):
        return None
    changed_set = set(changed)
    imports: dict[str, set[str]] = {}
    dynamic: set[str] = set()
    for path in sorted(tree.rglob("*.py")):
        rel = path.relative_to(tree).as_posix()
        try:
            module = ast.parse(path.read_bytes(), filename=rel)
        except (SyntaxError, ValueError, OSError):
            return None
        imports[rel], loads_by_name = _imports(module, rel)
        if loads_by_name:
            dynamic.add(rel)
    found = []
    for dag_file in sorted(dag_files):
        reach = _reach(dag_file, imports)
        if reach & changed_set or (changed_set and reach & dynamic):
            found.append(dag_file)
    return sorted(found, key=lambda f: f in changed_set)


def _reach(start: str, imports: dict[str, set[str]]) -> set[str]:
    """`start` and every candidate file it imports, directly or through files of the folder."""
    seen, todo = {start}, [start]
    while todo:
        for candidate in imports.get(todo.pop(), ()):
            if candidate not in seen:
                seen.add(candidate)
                todo.append(candidate)
    return seen


def _imports(module: ast.Module, rel: str) -> tuple[set[str], bool]:
    """Files of the folder an import in `module` may load (whether or not they exist: a file added or
    deleted counts), and whether it calls something that loads code by name."""
    package = rel.split("/")[:-1]
    names: set[str] = set()
    dynamic = False
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level - 1 <= len(package) else []
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            if prefix:
                names.add(prefix)
            names.update(f"{prefix}.{alias.name}".lstrip(".") for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            dynamic = dynamic or called in DYNAMIC_CALLS
    files: set[str] = set()
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__.py and a/b/__init__.py too
            files.add("/".join(parts[:i]) + ".py")
            files.add("/".join(parts[:i]) + "/__init__.py")
    return files, dynamic
