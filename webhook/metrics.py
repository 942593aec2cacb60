"""GET /metrics in Prometheus text format, queried from the state database on each scrape.

Gunicorn runs several processes, so in-memory counters would each see a fraction of the truth; the
database is shared, so every worker reports the same numbers.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from webhook import auth, relay, settings
from webhook.deploy.history import RESULTS, History
from webhook.deploy.mirror import Mirror

bp = Blueprint("metrics", __name__)
BUCKETS = (0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)


class StateCollector:
    """Builds every metric from the state database and the mirror."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        cfg = settings.get(self.app)
        db = self.app.extensions["state"]
        history = History(db)
        by_result = CounterMetricFamily("webhook_deploys", "Finished deploys and rollbacks by result.",
                                        labels=["kind", "result"])
        counts = history.counts()
        for kind in ("deploy", "rollback"):
            for result in RESULTS:
                by_result.add_metric([kind, result], counts.get((kind, result), 0))
        yield by_result
        within, count, total = history.durations(BUCKETS)
        buckets = [(str(float(b)), n) for b, n in zip(BUCKETS, within, strict=True)] + [("+Inf", count)]
        yield HistogramMetricFamily("webhook_deploy_duration_seconds",
                                    "Time from request to result, validation and Airflow confirmation included.",
                                    buckets=buckets, sum_value=total)
        yield GaugeMetricFamily("webhook_deploy_last_success_timestamp_seconds",
                                "Unix time of the last successful deploy or rollback (0 if none).",
                                value=history.last_success())
        yield GaugeMetricFamily("webhook_deploys_in_progress", "Deploys queued or running.",
                                value=history.in_progress())
        failures = CounterMetricFamily("webhook_auth_failures",
                                       "Refused requests: bad_request (credentials missing or malformed) or "
                                       "unauthorized (well formed, refused); the log has the exact reason.",
                                       labels=["reason"])
        coarse = {"bad_request": 0, "unauthorized": 0}
        for reason, n in self.app.extensions["deliveries"].failures().items():
            coarse[auth.public_reason(reason)] += n
        for reason, n in coarse.items():
            failures.add_metric([reason], n)
        yield failures
        event = relay.last_event(db)
        yield GaugeMetricFamily("webhook_last_request_timestamp_seconds",
                                "Unix time the last POST reached the webhook (relay liveness).",
                                value=(event or {}).get("received_at", 0.0))
        deployed = Mirror(cfg.deploy_dir / "mirror.git", cfg.repo_url, cfg.branch).deployed()
        info = GaugeMetricFamily("webhook_deployed_commit_info", "The commit Airflow is told to deploy.",
                                 labels=["commit"])
        if deployed:
            info.add_metric([deployed], 1)
        yield info


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(current_app.extensions["metrics_registry"]), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(app))
    app.extensions["metrics_registry"] = registry
    app.register_blueprint(bp)
