"""Run one service with the environment `up` resolved for it (supervisord only knows the state folder, and where
the environment files are when not in run/env: the worker's, as the task user), under stackctl.reaper so
nothing the service starts outlives it; or, for a program that can leave nothing behind, as that program
itself (exec), so no launcher process stays beside it.

Imports as little as it can (no pathlib, no subprocess): each reaper stays resident beside its program."""

from __future__ import annotations

import json
import os
import sys

from stackctl import reaper

# Programs that leave nothing behind when they die, kill -9 included, so nothing is left to reap: HAProxy's
# worker exits with its master (-W; checked with kill -9 of the master); diagnostics and the dashboard
# (waitress), Flower, the development fakes and the monitoring profile's Go programs are one process each. A
# reaper in front of each cost about 6 MiB PSS (issue 13). The Airflow programs, the webhook (whose forks a DAG
# file's code can leave running), the relay and collectd (its exec plugin starts processes) keep theirs.
ALONE = frozenset({"haproxy", "diagnostics", "flower", "fake-onepassword", "fake-slack", "fixture-server",
                   "dashboard", "prometheus", "alertmanager", "blackbox-exporter"})


def main(name: str) -> None:
    folder = os.environ.get("STACK_SPEC_DIR") or os.path.join(os.environ["STACK_STATE_DIR"], "run", "env")
    with open(os.path.join(folder, f"{name}.json")) as handle:
        spec = json.load(handle)
    if name in ALONE:
        reaper.execute(spec["argv"], spec["env"])
    sys.exit(reaper.run(spec["argv"], spec["env"]))


if __name__ == "__main__":
    main(sys.argv[1])
