"""`python -m bootstrapfile [--file dags/bootstrap.yaml] [--overwrite-drift]`: apply the file to Airflow's
database (the process needs Airflow's configuration and database login, as airflow-init has).

Prints one line per outcome. Exit 0 when the file was applied, even with drift or skipped objects (the stack
still starts; the lines say what to fix); 2 when the file itself is refused (the line number says where).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bootstrapfile import DEFAULT_FILE
from bootstrapfile.apply import apply
from bootstrapfile.onepassword import field_reader
from bootstrapfile.spec import BootstrapFileError, parse
from bootstrapfile.stores import DatabaseStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bootstrapfile", description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--overwrite-drift", action="store_true",
                        help="put back what the file says where it was changed in Airflow by hand")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"bootstrap: no {args.file}; nothing to apply")
        return 0
    try:
        declared = parse(args.file.read_text())
    except BootstrapFileError as error:
        print(f"bootstrap: {args.file} refused, nothing applied: {error}", file=sys.stderr)
        return 2
    report = apply(declared, DatabaseStore(), field_reader(), overwrite_drift=args.overwrite_drift)
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
