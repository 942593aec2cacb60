"""Import every DAG of a tree the way the DAG processor would, and judge it by the repository's deploy policy.

Usage: python -m webhook.deploy.validate_dags DAGS_FOLDER [--json OUTPUT] [--policy FILE]
       python -m webhook.deploy.validate_dags --serve   (jobs {"dags_folder", "output", "log"} on stdin)
Exit status 0 when the DAGs may be deployed, 1 when not, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

KINDS = (("AirflowDagCycleException", "cycle"), ("AirflowDagDuplicatedIdException", "duplicate_dag_id"))
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def _prepare_environment() -> None:
    """No example DAGs, and Airflow's log output kept off stdout (it is the report channel)."""
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")


def warm_up() -> None:
    """Import Airflow ahead of the job: the expensive part (about 1.7 s) is paid before a deploy arrives.

    Beyond the DagBag, what nearly every DAG file loads: airflow.sdk's names resolve lazily, and `dag`/`task`
    pull in the standard provider's Python operator (about 0.15 s in each check otherwise). Only Airflow's own
    modules and ours: a commit's code (dags/) is never imported here."""
    _prepare_environment()
    import airflow.dag_processing.dagbag  # noqa: F401
    import airflow.providers.standard.operators.bash  # noqa: F401
    import airflow.providers.standard.operators.empty  # noqa: F401
    import airflow.providers.standard.operators.python  # noqa: F401
    import airflow.sdk

    from webhook.deploy import integrity, policy  # noqa: F401

    for name in ("DAG", "dag", "task", "task_group", "TaskGroup", "BaseOperator", "Asset", "Variable", "Param",
                 "TriggerRule", "get_current_context", "get_parsing_context", "DeadlineAlert", "chain"):
        getattr(airflow.sdk, name)


def validate(dags_folder: Path, bundle_name: str = "gitops", policy_file: Path | None = None) -> dict:
    """Parse the folder with DagBag; return {"ok", "dag_ids", "problems", "warnings", "seconds"}.

    The policy is `deploy-policy.yaml` beside the folder unless `policy_file` names another; a broken
    policy is a problem (the defaults judge the DAGs meanwhile, so its other problems are listed too)."""
    _prepare_environment()
    started = time.monotonic()
    dags_folder = Path(dags_folder).resolve()
    from webhook.deploy import integrity, policy

    # Read before any DAG code runs. Shown relative to the repository, where the file lives.
    policy_file = Path(policy_file) if policy_file else dags_folder.parent / policy.FILE_NAME
    policy_name = _relative(str(policy_file), dags_folder.parent)
    found, warnings = [], []
    try:
        rules = policy.load(policy_file, policy_name)
    except policy.PolicyError as exc:
        rules = policy.Policy()
        found.append({"file": policy_name, "dag_id": None, "kind": "policy", "line": exc.line,
                      "message": str(exc)})
    # The bundle folder itself is on sys.path in Airflow, which is how `dagutils` imports; it must win
    # over any other copy of the shared code (e.g. the webhook's own checkout).
    sys.path.insert(0, str(dags_folder))
    # Shared DAG code imported earlier (by a plugin or the warm-up) would shadow the commit's own copy.
    for name in [m for m in sys.modules if m == "dagutils" or m.startswith("dagutils.")]:
        del sys.modules[name]
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=dags_folder, bundle_path=dags_folder, bundle_name=bundle_name)
    for path, message in sorted(bag.import_errors.items()):
        kind = next((k for marker, k in KINDS if marker in message), "import_error")
        # Paths of the temporary tree mean nothing to the reader; show them relative to dags/.
        message = message.replace(f"{dags_folder}/", "").strip()[-2000:]
        found.append({"file": _relative(path, dags_folder), "dag_id": None, "kind": kind, "message": message})
    dag_ids = {}
    for dag_id, dag in sorted(bag.dags.items()):
        dag_ids[dag_id] = _relative(dag.fileloc, dags_folder)
        for rule in integrity.broken(dag):
            level = rules.level(rule)
            if level == "block":
                found.append({"file": dag_ids[dag_id], "dag_id": dag_id, "kind": "integrity", "rule": rule,
                              "message": f"DAG {dag_id} {integrity.MESSAGES[rule]} (policy: {rule}: block)"})
            elif level == "warn":
                warnings.append({"file": dag_ids[dag_id], "dag_id": dag_id, "rule": rule})
    return {"ok": not found, "dag_ids": dag_ids, "problems": found, "warnings": warnings,
            "policy": rules.rules.model_dump(), "seconds": round(time.monotonic() - started, 3)}


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


def summary(report: dict, github: str | None = None) -> str:
    """One line per problem and per warning, then a verdict; for people and CI logs. With `github` (the DAG
    folder as the workflow names it) problems and warnings are workflow commands, shown on the files."""
    from webhook.deploy.problems import warning

    def line(level: str, file: str, text: str) -> str:
        return f"::{level} file={file}::{text}" if github is not None else text

    lines = []
    for p in report["problems"]:
        base = Path(github or ".").parent if p["kind"] == "policy" else Path(github or ".")
        lines.append(line("error", str(base / p["file"]), f"{p['kind']}: {p['file']}: "
                                                           f"{p['message'].splitlines()[-1]}"))
    for w in report.get("warnings", []):
        lines.append(line("warning", str(Path(github or ".") / w["file"]), f"warning: {warning(w)}"))
    verdict = "OK" if report["ok"] else "REJECTED"
    lines.append(f"{verdict}: {len(report['dag_ids'])} DAGs, {len(report['problems'])} problems, "
                 f"{len(report.get('warnings', []))} warnings ({report['seconds']} s)")
    return "\n".join(lines)


def _write(report: dict, output: str | None) -> None:
    if output:
        tmp = f"{output}.tmp"
        with open(tmp, "w") as fh:
            json.dump(report, fh)
        os.replace(tmp, output)


def serve() -> int:
    """Import Airflow once, then fork one child per job line on stdin; answer {"rc": n} per job.

    Each child parses one tree and exits, so no module of one commit survives into the next check,
    while the expensive Airflow import (about 1.7 s) is paid once, before any deploy arrives.
    """
    parent = os.getppid()
    threading.Thread(target=_end_with, args=(parent,), name="parent-watch", daemon=True).start()
    warm_up()
    # Processes a DAG file leaves behind (even detached ones) become our children, so they can be ended.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(job)
        _, status = os.waitpid(pid, 0)
        end_leftovers()
        print(json.dumps({"rc": os.waitstatus_to_exitcode(status)}), flush=True)
    return 0


def _end_with(parent: int, interval: float = 0.5) -> None:
    """When the webhook process that started us dies (kill -9, the OOM killer), end the check in progress and
    ourselves: nobody is left to read the answer or to time the check out, and a DAG's import that never
    returns would otherwise run on for ever beside the next deploy's check (documentation/reliability.md)."""
    while os.getppid() == parent:
        time.sleep(interval)
    end_leftovers()
    os._exit(1)


def end_leftovers() -> None:
    """Kill whatever the job's DAG code left running: a process outliving its check could wait for the next
    deploy and read what that deploy handles (the deploy key, briefly on disk during a fetch)."""
    while children := _children():
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _children() -> list[int]:
    """Our child processes, from /proc (no psutil in the image)."""
    me, found = os.getpid(), []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(entry.name))
    return found


def _child(job: dict) -> None:
    """Run one job in a forked child; its output goes to the job's log file, never the answer pipe."""
    code = 2
    try:
        log_fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        sys.stdin.close()
        report = validate(Path(job["dags_folder"]), job.get("bundle_name", "gitops"))
        _write(report, job["output"])
        code = 0 if report["ok"] else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # Skip the exit handlers inherited from the parent: they belong to it.
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webhook.deploy.validate_dags", description=__doc__)
    parser.add_argument("dags_folder", nargs="?")
    parser.add_argument("--json", dest="output", help="also write the report as JSON to this file")
    parser.add_argument("--bundle-name", default="gitops")
    parser.add_argument("--policy", help="the deploy policy (default: deploy-policy.yaml beside DAGS_FOLDER)")
    parser.add_argument("--serve", action="store_true", help="validate jobs read from stdin (the webhook)")
    args = parser.parse_args(argv)
    if args.serve:
        return serve()
    if not args.dags_folder or not Path(args.dags_folder).is_dir():
        parser.error(f"DAGS_FOLDER must be an existing folder, got {args.dags_folder!r}")
    report = validate(Path(args.dags_folder), args.bundle_name, args.policy)
    _write(report, args.output)
    github = args.dags_folder if os.environ.get("GITHUB_ACTIONS") == "true" else None
    print(summary(report, github), file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
