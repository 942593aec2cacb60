"""`./stack up` applies dags/bootstrap.yaml (bootstrapfile) once every service is healthy.

Natively the development 1Password fake starts after airflow-init, so airflow-init leaves the file to `up`
(STACK_BOOTSTRAP_LATER); under compose airflow-init applies it itself. Never fails `up`: the stack still starts
and the lines say what was skipped, drifted or refused.
"""

from __future__ import annotations

import subprocess

LATER = "STACK_BOOTSTRAP_LATER"


def apply(settings, init_env: dict[str, str], echo) -> None:
    """Run `python -m bootstrapfile` with airflow-init's environment (Airflow's database, the DAG vault)."""
    try:
        result = subprocess.run([settings.bin("python"), "-m", "bootstrapfile"], env=init_env,
                                cwd=settings.project_dir, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        echo("bootstrap: not applied, it took longer than 300 s")
        return
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("bootstrap")]
    for line in lines or [f"bootstrap: failed (exit {result.returncode}): {result.stderr.strip()[-500:]}"]:
        echo(line)
