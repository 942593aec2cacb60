"""Every shell script of the repository passes shellcheck and starts with the strict-mode line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(
    path for path in [ROOT / "stack", ROOT / ".ci" / "run", *ROOT.glob("relay/*"), *ROOT.glob("scripts/*")]
    if path.is_file() and path.read_text(errors="replace").startswith("#!/usr/bin/env bash")
)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shellcheck_clean_and_strict(script):
    assert "set -o errexit -o nounset -o pipefail" in script.read_text()
    result = subprocess.run(["shellcheck", "--shell=bash", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_entry_points_are_covered():
    names = {str(p.relative_to(ROOT)) for p in SCRIPTS}
    assert {"stack", ".ci/run"} <= names
