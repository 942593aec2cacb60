"""Run one service with the environment `up` resolved for it (supervisord only knows the state folder), under
stackctl.reaper so nothing the service starts outlives it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from stackctl import reaper


def main(name: str) -> None:
    path = Path(os.environ["STACK_STATE_DIR"]) / "run" / "env" / f"{name}.json"
    spec = json.loads(path.read_text())
    sys.exit(reaper.run(spec["argv"], spec["env"]))


if __name__ == "__main__":
    main(sys.argv[1])
