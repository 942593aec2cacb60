"""Does a Celery worker answer? `celery inspect ping` without importing Airflow.

    python -m stackctl.worker_alive [--local]

Asks through the broker in AIRFLOW__CELERY__BROKER_URL (read from the environment, never the command line) and
waits a second for replies; `--local`: only the worker of this host, `celery@<hostname>` (the name Airflow's
`celery worker` gives it). Exit status 0 when one answered, 1 when none did, 2 when the broker is not set, with
one line saying which. A check costs a Python start with Celery's client (about 0.3 s of CPU here), where
`celery --app airflow...celery_executor.app inspect ping` imported Airflow for every check (2-3 s of CPU, every
30 s: most of an idle compose worker's CPU). Compose's healthchecks run it; natively `up` and `status` call
`ping` (stackctl/health.py).
"""

from __future__ import annotations

import os
import socket
import sys

BROKER = "AIRFLOW__CELERY__BROKER_URL"


def ping(broker_url: str, destination: list[str] | None = None, timeout: float = 1.0) -> tuple[bool, str]:
    """(answered, who answered or why not), asking every worker or only `destination`'s."""
    from celery import Celery

    app = Celery(broker=broker_url)
    try:
        replies = app.control.ping(destination=destination, timeout=timeout)
    except Exception as error:  # the broker may still be starting; its message never holds the URL's password
        return False, str(error)[:80]
    finally:
        app.close()
    names = sorted(name for reply in replies for name in reply)
    return bool(names), ", ".join(names) or "no worker answered"


def main(argv: list[str]) -> int:
    if argv not in ([], ["--local"]):
        print("usage: python -m stackctl.worker_alive [--local]", file=sys.stderr)
        return 2
    broker = os.environ.get(BROKER)
    if not broker:
        print(f"{BROKER} is not set: the broker to ask is unknown", file=sys.stderr)
        return 2
    destination = [f"celery@{socket.gethostname()}"] if argv else None
    answered, found = ping(broker, destination)
    print(found)
    return 0 if answered else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
