"""A throw-away PostgreSQL cluster in a temporary folder, with the stack's `warehouse` role and database.

For tests of the example pipelines against a real database: `with ThrowawayPostgres() as pg: pg.url`.
As root the cluster runs as the `postgres` system user (initdb and postgres refuse root).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from stackctl import system, warehouse
from stackctl.ports import is_free


def _free_port() -> int:
    for port in range(35432, 36432):
        if is_free("127.0.0.1", port):
            return port
    raise RuntimeError("no free port for a throw-away PostgreSQL between 35432 and 36431")


class ThrowawayPostgres:
    """initdb, start, create role and database `warehouse`; stop and delete on exit."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="throwaway-pg-"))
        self.port = _free_port()
        self.password = secrets.token_urlsafe(18)
        self.user = "postgres" if os.geteuid() == 0 else None
        self.bin = system.postgres_bin_dir()

    def _run(self, *argv: str, input: str | None = None) -> str:
        result = subprocess.run(argv, input=input, capture_output=True, text=True, user=self.user)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout.strip()

    def __enter__(self) -> ThrowawayPostgres:
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        data = self.root / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.root / "log"), "-w", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off", "start")
        warehouse.ensure(self.superuser_query, self.password)
        return self

    def superuser_query(self, sql: str) -> str:
        return self._run(str(self.bin / "psql"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres",
                         "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tAq", input=sql + ";")

    @property
    def url(self) -> str:
        """The warehouse role's URL (postgresql://warehouse:...@127.0.0.1:port/warehouse)."""
        return f"postgresql://{warehouse.ROLE}:{self.password}@127.0.0.1:{self.port}/{warehouse.DATABASE}"

    @property
    def connection_json(self) -> str:
        """The Airflow connection `warehouse` as AIRFLOW_CONN_WAREHOUSE would hold it."""
        import json

        return json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": self.port,
                           "login": warehouse.ROLE, "password": self.password, "schema": warehouse.DATABASE})

    def stop(self) -> None:
        """Stop the server (the data stays until exit): what an unreachable warehouse looks like."""
        subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"],
                       capture_output=True, user=self.user)

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
