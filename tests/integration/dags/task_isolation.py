"""Integration check: what a DAG author can reach from a task.

The task lists the environment variable names of its own process and of every ancestor it can read (the Celery
worker, supervisord natively), tries to read each path the run's conf names ({"paths": {label: path}}: the
stack's secrets, other programs' environment files and /proc/<pid>/environ, natively), and tries to become
admin: it signs an admin token with every value it can see (those environments, whatever it could read and
Airflow's in-memory settings) and sends each to the REST API. It returns labels, names and counts only, never a
value.
"""

from datetime import timedelta

from airflow.sdk import dag, task


def visible_environments() -> dict[int, dict[str, str]]:
    """pid -> environment, for this process and each ancestor whose environment is readable.

    Its own comes from os.environ: Airflow makes the task and its supervisor non-dumpable, so as any user but
    root even its own /proc/<pid>/environ is closed. Less the placeholder Airflow puts in every task's database
    URL to block ORM access (`block_orm_access`), which is no credential. An ancestor it cannot read is passed
    over, not the end.
    """
    import os

    own = {name: value for name, value in os.environ.items() if not value.startswith("airflow-db-not-allowed:")}
    found, pid = {os.getpid(): own}, os.getpid()
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        found[pid] = dict(item.decode(errors="replace").partition("=")[::2] for item in raw.split(b"\0") if item)
    return found


def read_paths(paths: dict[str, str]) -> tuple[list[str], set[str]]:
    """The labels of the paths this process could read (a file's bytes, a folder's listing, a connection to a
    socket) and the words found in what it read, to try as signing keys."""
    import os
    import re
    import socket
    import stat

    readable, words = [], set()
    for label, path in paths.items():
        try:
            mode = os.stat(path).st_mode
            if stat.S_ISDIR(mode):
                os.listdir(path)
                data = b""
            elif stat.S_ISSOCK(mode):
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.connect(path)
                data = b""
            else:
                with open(path, "rb") as handle:
                    data = handle.read(1 << 20)
        except OSError:
            continue
        readable.append(label)
        text = data.decode(errors="replace")
        words.update(re.split(r"[\x00\s=\"':@/,;{}\[\]]+", text))
        words.update(line.partition("=")[2].strip().strip("\"'") for line in re.split(r"[\x00\n]", text))
    return sorted(readable), {word for word in words if len(word) >= 8}


def in_memory_settings() -> list[str]:
    """Signing keys as this process's Airflow configuration holds them (generated at random when unset)."""
    from airflow.configuration import conf

    values = []
    for section, key in (("api_auth", "jwt_secret"), ("api", "secret_key"), ("core", "fernet_key")):
        try:
            values.append(conf.get(section, key, fallback="") or "")
        except Exception:  # noqa: BLE001 - a missing section is simply nothing to try
            pass
    return values


def admin_token(secret: str) -> str:
    """A token for user 1 (the first admin) signed with `secret`, the way the api-server signs its own."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
    from airflow.api_fastapi.auth.tokens import JWTGenerator

    signer = JWTGenerator(secret_key=secret, private_key=None, valid_for=300,
                          audience=BaseAuthManager._get_jwt_audience())
    return signer.generate({"sub": "1"})


@dag(
    dag_id="task-isolation",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["integration"],
    default_args={"owner": "integration-tests", "retries": 0, "execution_timeout": timedelta(minutes=3)},
)
def task_isolation():
    @task
    def probe(dag_run=None) -> dict:
        import os
        import pwd
        import warnings

        import requests

        warnings.simplefilter("ignore")  # short keys: PyJWT warns on each, and every one is tried anyway

        environments = visible_environments()
        names = sorted({name for env in environments.values() for name in env})
        candidates = {value for env in environments.values() for value in env.values() if len(value) >= 8}
        candidates.update(value for value in in_memory_settings() if len(value) >= 8)
        readable, words = read_paths((dag_run.conf or {}).get("paths") or {})
        candidates.update(words)
        # natively the runner's port; under compose none is set: the api-server's fixed container port
        port = os.environ.get("AIRFLOW_API_PORT", "8080")
        api = f"http://{os.environ['AIRFLOW_API_HOST']}:{port}/api/v2/dags?limit=1"
        accepted = 0
        for secret in candidates:
            try:
                token = admin_token(secret)
            except Exception:  # noqa: BLE001 - not usable as a key at all
                continue
            if requests.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200:
                accepted += 1
        return {"processes": len(environments), "names": names, "tried": len(candidates), "accepted": accepted,
                "readable": readable, "user": pwd.getpwuid(os.getuid()).pw_name}

    probe()


task_isolation()
