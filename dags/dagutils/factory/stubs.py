"""Write (or check) the DAG file beside each factory config: `python -m dagutils.factory.stubs [--check]`
with the DAG folder on PYTHONPATH, as Airflow has it (`PYTHONPATH=dags python -m dagutils.factory.stubs`).

Airflow imports Python files, so each config needs one; it is always the same two lines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
STUB = '''"""Airflow DAG built by the DAG factory from the YAML config beside it (documentation/writing-dags.md)."""

from dagutils.factory import dag_from_yaml

dag = dag_from_yaml(__file__)
'''


def problems(folder: Path) -> list[str]:
    """Configs without their DAG file, DAG files that differ from the stub, stubs without a config."""
    found = []
    for config in sorted(folder.glob("*.yaml")):
        stub = config.with_suffix(".py")
        if not stub.exists():
            found.append(f"{config.name} has no DAG file {stub.name}")
        elif stub.read_text() != STUB:
            found.append(f"{stub.name} is not the factory's DAG file")
    found += [f"{stub.name} has no config {stub.stem}.yaml" for stub in sorted(folder.glob("*.py"))
              if not stub.with_suffix(".yaml").exists()]
    return found


def write(folder: Path) -> list[Path]:
    written = []
    for config in sorted(folder.glob("*.yaml")):
        stub = config.with_suffix(".py")
        if not stub.exists() or stub.read_text() != STUB:
            stub.write_text(STUB)
            written.append(stub)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagutils.factory.stubs", description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=CONFIGS)
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if a DAG file is missing")
    args = parser.parse_args(argv)
    if args.check:
        found = problems(args.folder)
        for line in found:
            print(f"{args.folder}/{line}", file=sys.stderr)
        return 1 if found else 0
    for stub in write(args.folder):
        print(f"wrote {stub}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
