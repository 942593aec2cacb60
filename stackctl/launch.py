"""Run one service with the environment `up` resolved for it (supervisord only knows the state folder, and where
the environment files are when not in run/env: the worker's, as the task user), under stackctl.reaper so
nothing the service starts outlives it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from stackctl import reaper


def main(name: str) -> None:
    folder = os.environ.get("STACK_SPEC_DIR") or Path(os.environ["STACK_STATE_DIR"]) / "run" / "env"
    path = Path(folder) / f"{name}.json"
    spec = json.loads(path.read_text())
    sys.exit(reaper.run(spec["argv"], spec["env"]))


if __name__ == "__main__":
    main(sys.argv[1])
