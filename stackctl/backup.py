"""Backups: the metadata database and the deploy state in one file, and back (`./stack backup`, `./stack restore`).

One file per backup, `gitops-airflow-<UTC time, ms>.tar.gz` (mode 0600; the names sort by time), holding:
  manifest.json    format, time, Airflow version, database revision, deployed commit, checksums of the rest
  airflow.dump     `pg_dump --format=custom` of Airflow's metadata database (compressed; pg_dump is online: it
                   takes no lock that blocks the stack, only ACCESS SHARE ones)
  state.sqlite     the webhook's state ($DEPLOY_DIR/state.sqlite: deploy history, pin, baseline), copied with
                   SQLite's online backup API (a file copy of a live WAL database can be torn)
  mirror.bundle    `git bundle` of every ref of $DEPLOY_DIR/mirror.git: the published commit and the commits
                   older runs were pinned to, so a restored stack needs no origin to start
No credential is in it: the dump's connections and variables are encrypted with the Fernet key, which must not
travel with them. The manifest keeps only a fingerprint of the key, so a restore with another key is refused.
The same code runs natively (stackctl/cli.py) and under compose (`python -m stackctl.backup` in the `airflow-cli`
service: documentation/upgrading.md has the commands).
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = 1
PREFIX, SUFFIX = "gitops-airflow-", ".tar.gz"
DEFAULT_KEEP = 7
DUMP, STATE, MIRROR, MANIFEST = "airflow.dump", "state.sqlite", "mirror.bundle", "manifest.json"
Echo = Callable[[str], None]


class BackupError(RuntimeError):
    """A backup could not be written or read; the message says what and what to do."""


@dataclass(frozen=True)
class Postgres:
    """How the client programs reach the metadata database: their folder, connection arguments and environment
    (a password only ever in PGPASSWORD, never on a command line), the database and the role that owns it."""

    bin_dir: Path
    args: list[str]
    database: str
    owner: str
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def run(self, program: str, *args: str, database: str | None = None, stdin: str | None = None) -> str:
        argv = [str(self.bin_dir / program), *self.args, "--no-password", "-d", database or self.database, *args]
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                                env={**os.environ, **self.env})
        if result.returncode != 0:
            raise BackupError(f"{program} failed: {(result.stderr or result.stdout).strip()[-2000:]}")
        return result.stdout.strip()

    def sql(self, statement: str, database: str | None = None) -> str:
        return self.run("psql", "-v", "ON_ERROR_STOP=1", "-tAq", "-c", statement, database=database)


def fingerprint(fernet_keys: str) -> list[str]:
    """A short, one-way fingerprint of each Fernet key (Airflow takes a comma-separated list)."""
    return [hashlib.sha256(b"gitops-airflow fernet " + key.strip().encode()).hexdigest()[:16]
            for key in fernet_keys.split(",") if key.strip()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"git {args[0]} in {cwd} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def create(pg: Postgres, deploy_dir: Path, folder: Path, keep: int, fernet_keys: str, branch: str,
           echo: Echo = print) -> Path:
    """Write one backup into `folder` (atomically: a half-written file never has the final name); keep the
    newest `keep` there; return its path."""
    if keep < 1:
        raise BackupError(f"--keep must be 1 or more (got {keep}): the backup just written is always kept")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".backup-", dir=folder))  # same file system: the rename is atomic
    except OSError as error:
        raise BackupError(f"cannot write into {folder}: {error.strerror or error}") from None
    started = time.time()
    try:
        manifest = {"format": FORMAT, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                    "airflow_version": _airflow_version(),
                    "alembic_revision": pg.sql("SELECT version_num FROM alembic_version"),
                    "fernet_fingerprint": (fingerprint(fernet_keys) or [""])[0], "files": {}}
        pg.run("pg_dump", "--format=custom", "--compress=6", "--file", str(work / DUMP))
        manifest.update(copy_deploy_state(deploy_dir, work, branch))
        for name in (DUMP, STATE, MIRROR):
            if (work / name).exists():
                manifest["files"][name] = _sha256(work / name)
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        when = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started)) + f".{int(started * 1000) % 1000:03d}Z"
        name = PREFIX + when + SUFFIX
        final, partial = folder / name, work / (name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                for member in (MANIFEST, *manifest["files"]):
                    tar.add(work / member, arcname=member)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, final)
    finally:
        for leftover in sorted(work.iterdir()) if work.exists() else []:
            leftover.unlink()
        work.rmdir() if work.exists() else None
    echo(f"backup: wrote {final} ({final.stat().st_size / 1e6:.1f} MB, Airflow {manifest['airflow_version']}, "
         f"{manifest.get('deploys', 0)} deploys) in {time.time() - started:.1f} s")
    for old in prune(folder, keep):
        echo(f"backup: removed {old.name} (keeping the newest {keep})")
    return final


def copy_deploy_state(deploy_dir: Path, work: Path, branch: str) -> dict:
    """The webhook's state database and mirror into `work` (what exists of them); what the manifest says of them.
    Both are read online: SQLite's backup API copies a consistent snapshot while the webhook writes on."""
    found: dict = {}
    state, mirror = deploy_dir / STATE, deploy_dir / "mirror.git"
    if state.is_file():
        source, copy = sqlite3.connect(state, timeout=30), sqlite3.connect(work / STATE)
        try:
            source.backup(copy)
            found["deploys"] = copy.execute("SELECT count(*) FROM deploys").fetchone()[0]
        finally:
            source.close()
            copy.close()
    if (mirror / "HEAD").is_file() and _git("for-each-ref", cwd=mirror):
        _git("bundle", "create", "--quiet", str(work / MIRROR), "--all", cwd=mirror)
        deployed = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                                  cwd=mirror, capture_output=True, text=True).stdout.strip()
        found.update(deployed_commit=deployed or None, branch=branch)
    return found


def backups(folder: Path) -> list[Path]:
    """The backups in `folder`, oldest first (their names sort by time)."""
    return sorted(p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def prune(folder: Path, keep: int) -> list[Path]:
    removed = backups(folder)[:-keep]
    for old in removed:
        old.unlink()
    return removed


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow")


def open_backup(path: Path, work: Path) -> dict:
    """Unpack the backup at `path` into `work` and check it whole; return its manifest. BackupError says what is
    wrong with it."""
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    if not os.access(path, os.R_OK):
        raise BackupError(f"{getpass.getuser()} cannot read {path} (restore runs as the state folder's owner): "
                          f"give it that user, or copy it into the state folder")
    work.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile() and m.name in (MANIFEST, DUMP, STATE, MIRROR)}
            if MANIFEST not in members:
                raise BackupError(f"{path} is not a backup of this stack (it has no {MANIFEST})")
            for name, member in members.items():  # by name, never a path from the file (no extractall)
                with tar.extractfile(member) as src, open(work / name, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(f"{path} is damaged or not a backup of this stack ({error}); use another one") from None
    try:
        manifest = json.loads((work / MANIFEST).read_text())
    except ValueError:
        raise BackupError(f"{path} is damaged: its {MANIFEST} is not JSON") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} has format {manifest.get('format')!r}; this version reads format {FORMAT}")
    for name, digest in manifest.get("files", {}).items():
        if not (work / name).is_file() or _sha256(work / name) != digest:
            raise BackupError(f"{path} is damaged: {name} does not match its checksum; use another backup")
    if DUMP not in manifest.get("files", {}):
        raise BackupError(f"{path} holds no database dump")
    return manifest


def check_key(manifest: dict, fernet_keys: str, path: Path) -> None:
    """Refuse a restore whose connections and variables this stack's Fernet key(s) could not decrypt."""
    wanted = manifest.get("fernet_fingerprint")
    if wanted and wanted not in fingerprint(fernet_keys):
        raise BackupError(f"{path} was taken from a stack with another AIRFLOW__CORE__FERNET_KEY: its connections "
                          f"and variables would not decrypt here. Set the old stack's key (its secrets.env or .env; "
                          f"a backup holds no credentials), or list it after this one (new,old), then restore again")


def restore_database(pg: Postgres, dump: Path) -> None:
    """Replace the metadata database by the dump, owned by the stack's role, closed to PUBLIC as airflow-init
    leaves it. One transaction: a failed restore leaves an empty database, never a half-restored one."""
    quoted = lambda name: '"' + name.replace('"', '""') + '"'  # noqa: E731
    pg.sql(f"DROP DATABASE IF EXISTS {quoted(pg.database)} WITH (FORCE)", database="postgres")
    pg.sql(f"CREATE DATABASE {quoted(pg.database)} OWNER {quoted(pg.owner)}", database="postgres")
    pg.sql(f"REVOKE CONNECT ON DATABASE {quoted(pg.database)} FROM PUBLIC", database="postgres")
    pg.run("pg_restore", "--no-owner", "--no-acl", f"--role={pg.owner}", "--exit-on-error", "--single-transaction",
           str(dump))


def restore_deploy_state(work: Path, manifest: dict, deploy_dir: Path) -> None:
    """Replace the webhook's state database and mirror by the backup's (what the backup does not hold is removed:
    the webhook starts afresh there, as on a new stack)."""
    deploy_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (deploy_dir / (STATE + suffix)).unlink(missing_ok=True)
    mirror = deploy_dir / "mirror.git"
    if mirror.exists():
        subprocess.run(["rm", "-rf", "--", str(mirror)], check=True)
    if STATE in manifest["files"]:
        fd = os.open(deploy_dir / STATE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as out, open(work / STATE, "rb") as src:
            out.write(src.read())
            out.flush()
            os.fsync(out.fileno())
    if MIRROR in manifest["files"]:
        subprocess.run(["git", "init", "--quiet", "--bare", str(mirror)], check=True)
        _git("fetch", "--quiet", str(work / MIRROR), "+refs/*:refs/*", cwd=mirror)
        if manifest.get("branch"):
            _git("symbolic-ref", "HEAD", f"refs/heads/{manifest['branch']}", cwd=mirror)


def describe(manifest: dict) -> str:
    commit = (manifest.get("deployed_commit") or "")[:12] or "none"
    return (f"taken {manifest['created_at']}, Airflow {manifest['airflow_version']}, database revision "
            f"{manifest['alembic_revision']}, {manifest.get('deploys', 0)} deploys, deployed commit {commit}")


# ---- natively: `./stack backup`, `./stack restore` (stackctl/cli.py, stackctl/restore.py) ----------------------
def native_postgres(settings) -> Postgres:
    """The private cluster of the state folder, through its socket as its superuser (trusted only there)."""
    from stackctl import system
    from stackctl.native import postgres_dirs

    return Postgres(system.postgres_bin_dir(), ["-h", str(postgres_dirs(settings)[1]), "-p",
                                                 settings["POSTGRES_PORT"], "-U", "postgres"],
                    settings["POSTGRES_DB"], settings["POSTGRES_USER"])


def deploy_settings(values: dict[str, str]):
    """The webhook's own settings (DEPLOY_DIR, DEPLOY_BRANCH and their defaults are defined there, once)."""
    from webhook import settings as webhook_settings

    return webhook_settings.from_env(values)


def native_backup(settings, to: Path | None, keep: int, echo: Echo = print) -> Path:
    from stackctl import postgres

    if not postgres.is_ready(settings):
        raise BackupError(f"the stack in {settings.state_dir} is not running (its PostgreSQL does not answer): "
                          f"start it (./stack up), then back up; a backup is taken from a running stack")
    deploy = deploy_settings({**settings.values, "STACK_STATE_DIR": str(settings.state_dir)})
    return create(native_postgres(settings), deploy.deploy_dir, to or settings.state_dir / "backups", keep,
                  settings["AIRFLOW__CORE__FERNET_KEY"], deploy.branch, echo)


# ---- under compose: `docker compose run --rm --no-deps -v ...:/backups airflow-cli python -m stackctl.backup` --
def from_url(environ: dict[str, str]) -> Postgres:
    """The metadata database as Airflow's connection URL names it (compose: POSTGRES_USER, whom the postgres image
    makes superuser, so it may drop and create the database)."""
    from sqlalchemy.engine import make_url

    url = make_url(environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    bin_dir = Path(environ.get("PG_BIN_DIR") or "/usr/bin")
    return Postgres(bin_dir, ["-h", url.host or "localhost", "-p", str(url.port or 5432), "-U", url.username],
                    url.database, url.username, {"PGPASSWORD": url.password or ""})


def others_connected(pg: Postgres) -> int:
    """Sessions of anyone else on the metadata database: a running stack under compose."""
    return int(pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND pid <> pg_backend_pid()") or 0)


def compose_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backup", description="back up or restore the compose stack's "
                                     "metadata database and deploy state")
    parser.add_argument("--to", type=Path, default=Path("/backups"))
    parser.add_argument("--keep", type=int, default=DEFAULT_KEEP)
    parser.add_argument("restore", nargs="?", metavar="restore FILE")
    parser.add_argument("file", nargs="?", type=Path)
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    pg, deploy = from_url(environ), deploy_settings(environ)
    try:
        if not args.restore:
            create(pg, deploy.deploy_dir, args.to, args.keep, environ.get("AIRFLOW__CORE__FERNET_KEY", ""),
                   deploy.branch)
            return 0
        if args.restore != "restore" or not args.file:
            parser.error("say `restore FILE`, or nothing to back up")
        busy = others_connected(pg)
        if busy:
            raise BackupError(f"the stack is running ({busy} sessions on its database): stop it but postgres "
                              f"(docker compose down, then docker compose up -d --wait postgres), then restore "
                              f"again")
        with tempfile.TemporaryDirectory(prefix="restore-") as work:
            manifest = open_backup(args.file, Path(work))
            check_key(manifest, environ.get("AIRFLOW__CORE__FERNET_KEY", ""), args.file)
            restore_database(pg, Path(work) / DUMP)
            restore_deploy_state(Path(work), manifest, deploy.deploy_dir)
        print(f"restore: {args.file} ({describe(manifest)}); now `docker compose up -d --wait` "
              f"(airflow-init migrates it to this Airflow)")
        return 0
    except BackupError as error:
        print(f"backup: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(compose_main())
