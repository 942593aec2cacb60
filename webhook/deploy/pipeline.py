"""One deploy or rollback, stage by stage, with every step recorded in the history."""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bootstrapfile.deployed import apply_deployed
from webhook.deploy import notify, problems, reparse
from webhook.deploy.airflow_api import AirflowClient, AirflowError
from webhook.deploy.credentials import Credentials
from webhook.deploy.git import GitError
from webhook.deploy.history import History
from webhook.deploy.mirror import Mirror
from webhook.deploy.pin import Pin
from webhook.deploy.restart import outside_dags
from webhook.deploy.state import Database
from webhook.deploy.validation import ValidationError, Validator
from webhook.settings import Settings

log = logging.getLogger(__name__)
PR_RE = re.compile(r"#(\d{1,9})\b")


class Stop(Exception):
    """End the deploy with a result; nothing after the raising stage runs.

    `reason` is shown to anyone; `detail` (text a DAG or Airflow chose, e.g. an exception message) only to
    authenticated readers, the log and Slack.
    """

    def __init__(self, state: str, reason: str, retryable: bool = False, detail: str = ""):
        super().__init__(reason)
        self.state, self.reason, self.retryable, self.detail = state, reason, retryable, detail


class Interrupted(Exception):
    """The process running the deploy is being killed: what failed is the kill's doing, not the commit's. No
    verdict is recorded; the deploy stays 'running' and the next webhook resumes it (Runner.recover)."""


def _never() -> bool:
    return False


@dataclass
class Context:
    """What every deploy needs, built once by the runner (or the rollback CLI)."""

    cfg: Settings
    history: History
    mirror: Mirror
    validator: Validator
    airflow: AirflowClient | None
    pin: Pin
    # True once this process is going away (the runner: its gunicorn master died)
    going_away: Callable[[], bool] = _never

    @classmethod
    def build(cls, cfg: Settings, warm: bool = True, airflow: AirflowClient | None = None,
              validator: Validator | None = None) -> Context:
        if airflow is None and cfg.airflow_username and cfg.airflow_password:
            airflow = AirflowClient(cfg.airflow_url, cfg.airflow_username, cfg.airflow_password,
                                    cfg.bundle_name)
        db = Database(cfg.deploy_dir)
        return cls(
            cfg=cfg,
            history=History(db),
            mirror=Mirror(cfg.deploy_dir / "mirror.git", cfg.repo_url, cfg.branch, cfg.git_timeout,
                          Credentials(cfg)),
            validator=validator or Validator(cfg.validate_timeout, cfg.bundle_name, warm=warm),
            airflow=airflow,
            pin=Pin(db),
        )


class Run:
    """The state of one deploy while it runs; `stage()` times and records each step."""

    def __init__(self, ctx: Context, record: dict):
        self.ctx = ctx
        self.record = dict(record)
        self.stages: dict[str, float] = dict(record.get("stages") or {})
        # when each stage began (epoch seconds): a benchmark splits POST -> visible with these
        self.began: dict[str, float] = dict(record.get("stages_began") or {})

    def save(self, **fields) -> None:
        self.record.update(fields, stages=dict(self.stages), stages_began=dict(self.began))
        self.ctx.history.append({**fields, "id": self.record["id"], "stages": self.stages,
                                 "stages_began": self.began})

    @contextmanager
    def stage(self, name: str):
        self.began[name] = round(time.time(), 3)
        self.save(state="running", stage=name)
        started = time.monotonic()
        try:
            yield
        finally:
            self.stages[name] = round(time.monotonic() - started, 3)

    def finish(self, state: str, reason: str = "", detail: str = "", **fields) -> dict:
        if detail:
            fields["detail"] = detail
        self.save(state=state, result=state, reason=reason, stage=None, finished_at=round(time.time(), 3),
                  **fields)
        log.info("event=deploy_finished id=%s kind=%s commit=%s state=%s reason=%r detail=%r stages=%s",
                 self.record["id"], self.record.get("kind"), self.record.get("commit"), state, reason,
                 detail, self.stages)
        notify.announce(self.record)
        return self.record


def describe_commit(ctx: Context, run: Run, commit: str) -> None:
    info = ctx.mirror.commit_info(commit)
    pr = run.record.get("pr")
    if not pr and (match := PR_RE.search(info["subject"])):
        pr = int(match.group(1))
    run.save(author=info["author"], subject=info["subject"][:200], pr=pr)


def changed_outside(ctx: Context, deployed: str | None, commit: str) -> list[str]:
    """Stack files (not DAG code) that differ; nothing to compare on the very first deploy."""
    if deployed is None or deployed == commit:
        return []
    return outside_dags(ctx.mirror.changed_paths(deployed, commit))


def validate(ctx: Context, run: Run, commit: str) -> dict:
    """Export the commit and import its DAGs in a child process; Stop("rejected") on any problem. The report's
    "reparse" is the DAG files Airflow must parse again (reparse.py), None for all."""
    work = ctx.cfg.deploy_dir / "work" / run.record["id"]
    shutil.rmtree(work, ignore_errors=True)
    try:
        with run.stage("validate"):
            ctx.mirror.export(commit, work / "tree")
            dags = work / "tree" / ctx.cfg.dags_subdir
            if not dags.is_dir():
                raise Stop("rejected", f"commit has no {ctx.cfg.dags_subdir}/ folder")
            report = ctx.validator.check(dags, work / "report.json")
            if report["ok"]:
                # a resumed deploy may have published before it stopped, Airflow parsing some files: all
                resumed = run.record.get("source") == "resume"
                report["reparse"] = None if resumed else to_reparse(
                    ctx, run.record.get("previous_commit"), commit, dags, set(report["dag_ids"].values()))
    except ValidationError as exc:
        raise Stop("failed", str(exc), retryable=True, detail=exc.detail) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    warnings = problems.warnings(report.get("warnings"))
    if not report["ok"]:
        found = [problems.describe(p) for p in report["problems"][:20]]
        for problem in found:
            log.info("event=dag_problem id=%s kind=%s file=%s line=%s message=%r", run.record["id"],
                     problem["kind"], problem["file"], problem["line"], problem["message"])
        run.save(problems=found, warnings=warnings)
        raise Stop("rejected", problems.reason(found), detail=problems.detail(found))
    run.save(dag_ids=sorted(report["dag_ids"]), validate_seconds=report["seconds"], warnings=warnings,
             reparse=report["reparse"])
    return report


def to_reparse(ctx: Context, deployed: str | None, commit: str, tree: Path, dag_files: set[str]
               ) -> list[str] | None:
    """The DAG files whose code differs between the deployed commit and `commit`; None (all) on a first deploy
    and when `commit` is deployed already."""
    if deployed is None or deployed == commit:
        return None
    prefix = ctx.cfg.dags_subdir.rstrip("/") + "/"
    changed = [p[len(prefix):] for p in ctx.mirror.changed_paths(deployed, commit) if p.startswith(prefix)]
    return reparse.affected(tree, changed, dag_files)


def import_errors(ctx: Context) -> list[dict]:
    try:
        return ctx.airflow.import_errors()
    except AirflowError as exc:
        raise Stop("failed", f"{exc}; nothing was published", retryable=True) from None


def move(ctx: Context, new: str | None, old: str | None) -> None:
    """Move the published ref from `old` to `new` (None deletes it), failing if someone moved it."""
    if new is None:
        ctx.mirror.git("update-ref", "-d", ctx.mirror.published_ref, old)
    else:
        ctx.mirror.publish(new, old)


def confirm(ctx: Context, run: Run, commit: str, dags: dict[str, str], before: list[dict],
            published_at: float, files: list[str] | None = None) -> tuple[str, str] | None:
    """Make Airflow reparse `files` (None: every DAG file) now and wait until their DAGs report `commit` and
    every other DAG of the commit is there; return why it is bad (reason, detail), or None."""
    with run.stage("reparse"):
        try:
            shown = ctx.airflow.dags()
            known = {d["dag_id"] for d in shown}
            if files is not None:  # a DAG of an unchanged file that Airflow does not show (yet) is asked for too
                files = sorted({f for d, f in dags.items() if d not in known and f not in files}) + files
            asked = ctx.airflow.refresh(set(dags.values()) if files is None else files, shown)
        except AirflowError as exc:
            return f"could not request a reparse: {exc}", ""
    if asked == 0:
        # The bundle has no DAG yet, so no file token: Airflow's refresh_interval will pick it up.
        run.save(note="no DAG in the bundle yet; waiting for Airflow's own refresh")
    reparsed = set(dags) if files is None else {d for d, f in dags.items() if f in files or d not in known}
    with run.stage("visible"):
        try:
            behind, after = wait_visible(ctx, commit, dags, before, published_at, reparsed)
        except AirflowError as exc:
            return f"could not confirm the deploy: {exc}", ""
    run.save(import_errors_before=len(before), import_errors_after=len(after))
    new = fresh_errors(after, before, published_at, {dags[d] for d in behind})
    if new or len(after) > len(before):
        first = (new or after)[0]
        trace = (first.get("stack_trace") or "").strip().splitlines()[-1:] or [""]
        # Airflow's trace ends with the DAG's own exception message: detail, not reason.
        return (f"import errors rose from {len(before)} to {len(after)}: {first.get('filename')}",
                trace[0][:300])
    if behind:
        return (f"{len(behind)} DAG(s) did not report commit {commit[:12]} within "
                f"{ctx.cfg.visible_timeout:g}s: {', '.join(sorted(behind)[:5])}", "")
    return None


def fresh_errors(errors: list[dict], before: list[dict], published_at: float, watched: set[str]
                 ) -> list[dict]:
    """Import errors caused by this commit: a file that had none, or a file whose DAGs passed validation
    but which failed again in Airflow after publishing (e.g. left over from a rolled-back commit)."""
    old_files = {e.get("filename") for e in before}
    return [e for e in errors if e.get("filename") not in old_files
            or (e.get("filename") in watched and _when(e) > published_at)]


def _when(error: dict) -> float:
    try:
        return datetime.fromisoformat(error.get("timestamp") or "").timestamp()
    except ValueError:
        return 0.0


def wait_visible(ctx: Context, commit: str, dags: dict[str, str], before: list[dict], published_at: float,
                 reparsed: set[str] | None = None) -> tuple[set[str], list[dict]]:
    """Poll until every DAG in `reparsed` (default: all) reports `commit` and every other DAG is there, or a new
    import error appears, or time runs out."""
    deadline = time.monotonic() + ctx.cfg.visible_timeout
    reparsed = set(dags) if reparsed is None else reparsed
    while True:
        versions = {d["dag_id"]: d.get("bundle_version") for d in ctx.airflow.dags()}
        errors = ctx.airflow.import_errors()
        behind = {dag_id for dag_id in dags
                  if (versions.get(dag_id) != commit if dag_id in reparsed else dag_id not in versions)}
        watched = {dags[dag_id] for dag_id in behind}
        if not behind or fresh_errors(errors, before, published_at, watched) or time.monotonic() >= deadline:
            return behind, errors
        time.sleep(0.2)


def verdict(ctx: Context, run: Run, state: str, reason: str, detail: str = "", retryable: bool = False) -> dict:
    """Record a failure, unless this process is being killed: when the webhook's gunicorn master dies, the
    native stack's reaper ends every process under it at once, the DAG validation server and git included,
    and a check cut short that way says nothing about the commit."""
    if ctx.going_away():
        log.warning("event=deploy_left_to_next_webhook id=%s stage_error=%r", run.record["id"], reason)
        raise Interrupted(reason)
    return run.finish(state, reason, detail, retryable=retryable)


def deploy(ctx: Context, record: dict, tip: str) -> dict:
    """Deploy `record["commit"]`, already fetched; `tip` is the origin branch tip just fetched."""
    commit = record["commit"]

    def check() -> str | None:
        if not ctx.mirror.has_commit(commit) or not ctx.mirror.is_ancestor(commit, tip):
            raise Stop("rejected", f"commit {commit[:12]} is not on branch {ctx.cfg.branch}")
        describe_commit(ctx, run, commit)
        deployed = ctx.mirror.deployed()
        resumed = record.get("source") == "resume"
        if deployed == commit and not resumed:
            raise Stop("skipped", "already deployed")
        if deployed and deployed != commit and ctx.mirror.is_ancestor(commit, deployed):
            raise Stop("skipped", f"already included in deployed commit {deployed[:12]}")
        if deployed and not ctx.mirror.is_ancestor(deployed, commit):
            raise Stop("rejected", f"not a fast-forward of deployed commit {deployed[:12]} (history was "
                       "rewritten); an operator can force it with python -m webhook.rollback")
        return deployed

    run = Run(ctx, record)
    return check_validate_publish(ctx, run, commit, check, auto_rollback=True)


def check_validate_publish(ctx: Context, run: Run, commit: str, check: Callable[[], str | None],
                           auto_rollback: bool) -> dict:
    """The steps a deploy and a rollback share: `check()` (the kind's own rules; it returns the deployed commit
    or raises Stop), what the commit changes outside dags/, validation, then publishing; the verdict recorded."""
    try:
        with run.stage("check"):
            deployed = check()
            outside = changed_outside(ctx, deployed, commit)
            run.save(previous_commit=deployed, changed_outside=outside[:50], restart_required=bool(outside))
        report = validate(ctx, run, commit)
        return publish(ctx, run, commit, deployed, report["dag_ids"], auto_rollback=auto_rollback,
                       files=report["reparse"])
    except Stop as stop:
        return verdict(ctx, run, stop.state, stop.reason, stop.detail, retryable=stop.retryable)
    except GitError as exc:
        return verdict(ctx, run, "failed", str(exc), retryable=True)


def publish(ctx: Context, run: Run, commit: str, deployed: str | None, dags: dict[str, str],
            auto_rollback: bool, files: list[str] | None = None) -> dict:
    """Move the ref, then confirm with Airflow; on a bad result roll back (deploys) or report (rollbacks)."""
    before = import_errors(ctx) if ctx.airflow else []
    published_at = time.time()
    with run.stage("publish"):
        if deployed != commit:
            move(ctx, commit, deployed)
    log.info("event=published id=%s old=%s new=%s", run.record["id"], deployed, commit)
    if run.record.get("kind") == "rollback":
        tip = ctx.mirror.git("rev-parse", "--verify", "--quiet", ctx.mirror.incoming_ref, check=False)
        ctx.pin.set(commit, tip.strip() or None, run.record["id"])
    else:
        ctx.pin.clear()
    if ctx.airflow is None:
        return run.finish("succeeded", "published; Airflow API not configured, so not confirmed")
    problem = confirm(ctx, run, commit, dags, before, published_at, files)
    if problem is None:  # then the deployed dags/bootstrap.yaml (bootstrapfile/deployed.py); drift is recorded
        return run.finish("succeeded", **apply_deployed(
            lambda path: ctx.mirror.git("show", f"{commit}:{path}", check=False), ctx.airflow, run.record["id"]))
    reason, detail = problem
    if not auto_rollback or deployed == commit:
        return run.finish("failed", reason, detail)
    with run.stage("rollback"):
        move(ctx, deployed, commit)
        try:
            ctx.airflow.refresh()  # every file: the DAGs go back to the old commit's version
        except AirflowError:
            log.warning("event=rollback_reparse_failed id=%s", run.record["id"])
    return run.finish("rolled_back", f"{reason}; rolled back to {(deployed or 'nothing')[:12]}", detail)


def rollback(ctx: Context, record: dict) -> dict:
    """Publish an earlier (or operator-chosen) commit, non-fast-forward by design, and pin it."""
    commit = record["commit"]

    def check() -> str | None:
        if record.get("fetch"):
            ctx.mirror.fetch()
        if not ctx.mirror.has_commit(commit):
            raise Stop("rejected", f"commit {commit[:12]} is not in the mirror; fetch it first")
        describe_commit(ctx, run, commit)
        return ctx.mirror.deployed()

    run = Run(ctx, record)
    return check_validate_publish(ctx, run, commit, check, auto_rollback=False)


def cleanup_work(deploy_dir: Path) -> None:
    """Remove trees left by a deploy that was interrupted mid-validation."""
    shutil.rmtree(Path(deploy_dir) / "work", ignore_errors=True)
