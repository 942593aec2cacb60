"""`./stack restore FILE`: a backup (stackctl/backup.py) into a stopped or fresh native stack.

It refuses a running stack. It starts the state folder's PostgreSQL alone, on its socket only (no other client
can reach it meanwhile), replaces the metadata database and the webhook's state and mirror, and stops it again.
The next `./stack up` migrates the database to this checkout's Airflow (`airflow db migrate`, as after an
upgrade) and starts the stack with the backup's history.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from stackctl import backup, native, postgres, supervisor, system
from stackctl.settings import Settings


def is_running(settings: Settings) -> bool:
    return (supervisor.is_running(settings) or supervisor.is_running(settings, supervisor.for_tasks(settings))
            or postgres.is_ready(settings))


@contextlib.contextmanager
def private_postgres(settings: Settings) -> Iterator[None]:
    """The state folder's cluster, listening on its socket only, for as long as the block runs."""
    data, sockets = native.postgres_dirs(settings)
    log = settings.state_dir / "logs" / "postgres-restore.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(system.postgres_bin_dir() / "postgres"), "-D", str(data), "-p", settings["POSTGRES_PORT"],
            "-k", str(sockets), "-c", "listen_addresses="]
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        postgres.wait_ready(settings)
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def restore(settings: Settings, path: Path, echo=print) -> None:
    if is_running(settings):
        raise backup.BackupError(f"the stack in {settings.state_dir} is running: stop it first (./stack down), then "
                                 f"restore; a restore replaces its database and deploy history")
    deploy = backup.deploy_settings({**settings.values, "STACK_STATE_DIR": str(settings.state_dir)})
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=settings.state_dir) as folder:
        work = Path(folder)
        manifest = backup.open_backup(path.resolve(), work)
        backup.check_key(manifest, settings["AIRFLOW__CORE__FERNET_KEY"], path)
        if postgres.ensure_cluster(settings):
            echo(f"restore: created the PostgreSQL cluster in {native.postgres_dirs(settings)[0]}")
        with private_postgres(settings):
            postgres.ensure_database(settings)  # the roles and the other databases, as `up` makes them
            backup.restore_database(backup.native_postgres(settings), work / backup.DUMP)
        backup.restore_deploy_state(work, manifest, deploy.deploy_dir)
    home = native.airflow_home(settings)
    # the DAG processor's clone of the mirror is made again from the restored one
    shutil.rmtree(home / "dag_bundles", ignore_errors=True)
    # the next `up` runs airflow-init again: it migrates the restored database to this Airflow
    (home / ".stack-init").unlink(missing_ok=True)
    echo(f"restore: {path} ({backup.describe(manifest)}) restored into {settings.state_dir}; "
         f"start it with ./stack up (it migrates the database to this checkout's Airflow)")
