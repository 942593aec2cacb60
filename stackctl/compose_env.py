"""Write `.env` for docker compose from `.env.example`, with fresh credentials: `python3 -m stackctl.compose_env`.

Each `# NAME=` line of a credential is filled with a new random value; everything else is copied as it is. The
file is created readable by its owner only and never overwritten. Standard library only (no virtualenv needed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from stackctl.credentials import GENERATED_SECRETS, new_value

PROJECT_DIR = Path(__file__).resolve().parent.parent  # not stacksettings': this runs without the virtualenv


def render(example: str) -> str:
    """`.env.example` with every credential filled in."""
    lines = []
    for line in example.splitlines():
        name = line.removeprefix("# ").partition("=")[0]
        if line.startswith("# ") and line.endswith("=") and name in GENERATED_SECRETS:
            line = f"{name}={new_value(name)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m stackctl.compose_env", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=PROJECT_DIR / ".env")
    args = parser.parse_args(argv)
    if args.output.exists():
        print(f"compose_env: {args.output} exists; not touching it (delete it first for new credentials)",
              file=sys.stderr)
        return 1
    text = render((PROJECT_DIR / ".env.example").read_text())
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    print(f"compose_env: wrote {args.output} (mode 0600) with new credentials; review it, then "
          "`docker compose up -d --wait`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
