"""The deploy runner: one leader process (the holder of the "runner" lease) drains the queue and polls origin.

Every gunicorn worker starts a runner thread; the first to take the lease leads, the others wait to take over
if it dies. Each batch of deploys additionally holds the "deploy" lease, which the rollback CLI and the
bootstrap also take (webhook/deploy/lock.py: leases in the state database, taken with BEGIN IMMEDIATE).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from webhook.deploy import notify, pipeline, queue
from webhook.deploy.git import GitError
from webhook.deploy.lock import Lease
from webhook.deploy.pipeline import Context
from webhook.deploy.state import Database
from webhook.settings import Settings

log = logging.getLogger(__name__)
# Results after which the same commit is not tried again by the poll.
FINAL_FOR_POLL = ("succeeded", "rejected", "rolled_back", "skipped", "queued", "running")


class Runner:
    """Drains queued deploys (newest commit wins) and polls the branch every `poll_interval`."""

    def __init__(self, cfg: Settings, ctx: Context | None = None):
        self.cfg = cfg
        self._ctx = ctx
        # A context handed in belongs to the caller (tests share one validator), so stop() leaves it.
        self._owns_ctx = ctx is None
        if ctx is not None:
            ctx.going_away = self.going_away
        self._parent: int | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.db = ctx.history.db if ctx is not None else Database(cfg.deploy_dir)
        self.leader = Lease(self.db, "runner")
        self._last_poll = 0.0

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            self._ctx = Context.build(self.cfg)
            self._ctx.going_away = self.going_away
        return self._ctx

    def going_away(self) -> bool:
        """Our gunicorn master died (kill -9, the OOM killer): gunicorn ends this worker, and the native stack's
        reaper everything under it. Gunicorn's own workers make the same check."""
        return self._parent is not None and os.getppid() != self._parent

    # ---- thread ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._parent = os.getppid()
        self._thread = threading.Thread(target=self._loop, name="deploy-runner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        self.leader.release()
        if self._ctx and self._owns_ctx:
            self._ctx.validator.close()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set() and not self.going_away() and not self.leader.acquire(timeout=1.0, poll=0.25):
            pass
        if self._stop.is_set() or self.going_away():
            # A worker of a dead master is being ended: taking the deploy over would only interrupt it again.
            self.leader.release()
            return
        log.info("event=runner_leader")
        try:
            self.recover()
        except Exception:
            log.exception("event=runner_recover_failed")
        while not self._stop.is_set() and not self.going_away():
            try:
                if self.ctx.history.has_queued():
                    self.run_pending()
                if self.cfg.poll_interval and time.monotonic() - self._last_poll >= self.cfg.poll_interval:
                    self._last_poll = time.monotonic()
                    self.poll()
            except pipeline.Interrupted:
                return  # this process is going away; the next webhook's runner resumes the deploy
            except Exception:
                # The loop must survive anything (a full disk, a git crash) and try again.
                log.exception("event=runner_error")
                time.sleep(1.0)
            self._wake.wait(0.1)
            self._wake.clear()

    # ---- work -----------------------------------------------------------------------------------
    def recover(self) -> None:
        """Deploys left 'running' by a dead process become 'interrupted' and are queued again."""
        with Lease(self.db, "deploy"):
            pipeline.cleanup_work(self.cfg.deploy_dir)
            history = self.ctx.history
            for record in history.active("running"):
                history.append({"id": record["id"], "state": "interrupted", "result": "interrupted",
                                "reason": f"the webhook stopped during stage {record.get('stage')}",
                                "finished_at": round(time.time(), 3)})
                if record.get("stage") == "rollback" and record.get("previous_commit"):
                    # It died while undoing a bad deploy: finish undoing it, never retry the bad commit.
                    again = queue.request(history, record["previous_commit"], "resume", kind="rollback",
                                          resumes=record["id"])
                else:
                    again = queue.request(history, record["commit"], "resume",
                                          kind=record.get("kind", "deploy"), resumes=record["id"],
                                          pr=record.get("pr"))
                log.info("event=deploy_resumed id=%s new_id=%s commit=%s", record["id"], again["id"],
                         record["commit"])
            deployed = self.ctx.mirror.deployed()
            if deployed:
                self.db.set_fact("baseline", deployed, replace=False)

    def run_pending(self, lock_timeout: float | None = None) -> list[dict]:
        """Run queued work until none is left; returns the finished records."""
        done: list[dict] = []
        with Lease(self.db, "deploy", timeout=lock_timeout):
            while True:
                queued = self.ctx.history.active("queued")
                if not queued:
                    return done
                done.extend(self._run_one_batch(queued))

    def _supersede(self, losers: list[dict], winner: dict) -> None:
        for loser in losers:
            self.ctx.history.append({"id": loser["id"], "state": "superseded", "result": "superseded",
                                     "superseded_by": winner["id"], "finished_at": round(time.time(), 3),
                                     "reason": f"a newer request ({winner['id']}) covers it"})

    def _run_one_batch(self, queued: list[dict]) -> list[dict]:
        rollbacks = [r for r in queued if r.get("kind") == "rollback"]
        if rollbacks:
            # An operator's rollback overrides everything queued before it.
            winner = rollbacks[-1]
            earlier = queued[: queued.index(winner)]
            self._supersede(earlier, winner)
            return [pipeline.rollback(self.ctx, winner)]
        started, began = time.monotonic(), round(time.time(), 3)
        try:
            tip = self.ctx.mirror.fetch()
        except GitError as exc:
            reason = f"fetch from origin failed: {exc}; the deployed DAGs are unchanged"
            for record in queued:
                self.ctx.history.append({"id": record["id"], "state": "failed", "result": "failed",
                                         "reason": reason, "retryable": True,
                                         "finished_at": round(time.time(), 3)})
                notify.announce({**record, "state": "failed", "reason": reason})  # as every other failure
            log.warning("event=fetch_failed error=%s", exc)
            return []
        # Requests that arrived during the fetch join this batch (a rollback among them waits for the next).
        again = self.ctx.history.active("queued")
        if not any(r.get("kind") == "rollback" for r in again):
            queued = again
        winner = self._newest(queued, tip)
        self._supersede([r for r in queued if r is not winner], winner)
        fetched = round(time.monotonic() - started, 3)
        return [pipeline.deploy(self.ctx, {**winner, "stages": {"fetch": fetched}, "stages_began": {"fetch": began}},
                                tip)]

    def _newest(self, queued: list[dict], tip: str) -> dict:
        """The request whose commit is furthest along the branch (unknown commits count as oldest)."""
        def depth(record: dict) -> int:
            sha = record["commit"]
            if not self.ctx.mirror.has_commit(sha) or not self.ctx.mirror.is_ancestor(sha, tip):
                return -1
            return int(self.ctx.mirror.git("rev-list", "--count", sha).strip() or 0)
        # max() keeps the first of equals; reversed so that, among equals, the latest request wins.
        return max(reversed(queued), key=depth)

    def poll(self) -> dict | None:
        """Fallback for lost relay events: queue origin's tip if it is new to us."""
        mirror = self.ctx.mirror
        try:
            tip = mirror.remote_tip()
        except GitError as exc:
            log.warning("event=poll_failed error=%s", exc)
            return None
        if not tip or tip == mirror.deployed() or self.ctx.pin.blocks(tip):
            return None
        tried = self.ctx.history.find(commit=tip, limit=-1)  # newest first
        if any(r.get("state") in FINAL_FOR_POLL for r in tried):
            return None
        if tried and not tried[0].get("retryable", False):
            return None
        record = queue.request(self.ctx.history, tip, "poll")
        log.info("event=poll_queued id=%s commit=%s", record["id"], tip)
        self.wake()
        return record
