"""The webhook's image has what a private origin needs: ssh and ssh-keygen (Debian's openssh-client).

The official apache/airflow image ships openssh-client, so the Dockerfile installs nothing; this holds the two
images the stack is built from to that: the Dockerfile's Airflow stage starts from the official image, and the
stand-in the compose tests build in its place (tests/compose/images/) installs the same package.
"""

from __future__ import annotations

import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_the_airflow_stage_starts_from_the_official_image_which_ships_openssh_client():
    dockerfile = (PROJECT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile, re.M)
    assert stages[-1][0].startswith("apache/airflow:"), stages
    # nothing in the Dockerfile takes it out again
    assert not re.search(r"(apt-get|apt|dpkg)\s+(remove|purge|-r|-P)\b.*openssh", dockerfile)


def test_the_compose_stand_in_installs_openssh_client_too():
    standin = (PROJECT / "tests" / "compose" / "images" / "airflow" / "Dockerfile").read_text()
    assert re.search(r"apt-get install[^&]*\bopenssh-client\b", standin)
