"""Old DAG bundle versions on a Celery worker, removed without a process kept for it.

Airflow's Celery worker removes them in a forked process of its own (`[dag_processor]
stale_bundle_cleanup_interval`, about 82 MiB PSS, asleep 30 min at a time). The stack sets that to 0 and has
the worker's own timer (its event loop, no thread) start Airflow's
`BundleUsageTrackingManager().remove_stale_bundle_versions()` every CLEANUP_SECONDS in a process that exits
when done, on every worker: the main host's and a remote one's (docker-compose.worker.yaml) alike. What is
kept is Airflow's choice: `stale_bundle_cleanup_min_versions` versions and those used within
`stale_bundle_cleanup_age_threshold`, and never one a running task holds (its lock). The step joins the
worker through the Celery configuration module (workerpool/__init__.py imports this one).
"""

from __future__ import annotations

import logging
import multiprocessing

from celery import bootsteps
from celery.signals import celeryd_init

CLEANUP_SECONDS = 30 * 60  # Airflow's default stale_bundle_cleanup_interval
REAP_SECONDS = 5  # how soon an ended clean-up process is waited for
log = logging.getLogger(__name__)


def remove_stale_bundle_versions() -> None:
    from airflow.dag_processing.bundles.base import BundleUsageTrackingManager

    BundleUsageTrackingManager().remove_stale_bundle_versions()


class StaleBundleCleanup(bootsteps.StartStopStep):
    """Old DAG bundle versions removed on the worker's timer, each time by a process that lives only while it
    works: what the clean-up loads (the bundles, their git connection through the secrets backends) stays out
    of the worker, whose task processes are forked from it."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer = self.entry = self.reaping = None
        self.process = None

    def start(self, worker):
        self.timer = worker.timer
        self.entry = self.timer.call_repeatedly(CLEANUP_SECONDS, self.clean_up)

    def clean_up(self):
        if self.process is not None and self.process.is_alive():
            log.warning("the last stale DAG bundle clean-up is still running: skipped this one")
            return
        self.process = multiprocessing.get_context("fork").Process(target=remove_stale_bundle_versions,
                                                                  name="stale-bundle-cleanup", daemon=True)
        self.process.start()
        self.reaping = self.timer.call_repeatedly(REAP_SECONDS, self.reap)

    def reap(self):
        """Waits for the clean-up's process once it has ended (is_alive() polls waitpid), so it does not stay
        a zombie under the worker until the next clean-up."""
        if self.process is not None and not self.process.is_alive():
            self.process.join()
            self.reaping.cancel()

    def stop(self, worker):
        for entry in (self.entry, self.reaping):
            if entry is not None:
                entry.cancel()


@celeryd_init.connect
def add_cleanup_step(sender=None, instance=None, **kwargs):
    """Sent as a worker is built, before its steps are: the step joins them."""
    instance.app.steps["worker"].add(StaleBundleCleanup)
