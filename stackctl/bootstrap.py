"""`./stack up` applies dags/bootstrap.yaml (bootstrapfile) on every start.

airflow-init applies it itself when it runs (the development 1Password fake is started before it, natively as
under compose). When the database needs no airflow-init, `up` runs `python -m bootstrapfile` in a subprocess
beside the programs' start (`start`, then `report`). Never fails `up`: the stack still starts and the lines
say what was skipped, drifted or refused. STACK_BOOTSTRAP_LATER set: airflow-init leaves it out.
"""

from __future__ import annotations

import subprocess

LATER = "STACK_BOOTSTRAP_LATER"
TIMEOUT = 300


def start(settings, init_env: dict[str, str]) -> subprocess.Popen:
    """`python -m bootstrapfile` with airflow-init's environment (Airflow's database, the DAG vault)."""
    return subprocess.Popen([settings.bin("python"), "-m", "bootstrapfile"], env=init_env,
                            cwd=settings.project_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def report(proc: subprocess.Popen, echo) -> None:
    """Wait for it and show its lines."""
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        echo(f"bootstrap: not applied, it took longer than {TIMEOUT} s")
        return
    lines = [line for line in (out + err).splitlines() if line.startswith("bootstrap")]
    for line in lines or [f"bootstrap: failed (exit {proc.returncode}): {err.strip()[-500:]}"]:
        echo(line)
