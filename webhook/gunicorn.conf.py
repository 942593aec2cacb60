"""Gunicorn settings for the webhook: `gunicorn --config webhook/gunicorn.conf.py "webhook:create_app()"`."""

import os

from webhook.settings import SettingsError, from_env

try:
    _settings = from_env()
except SettingsError as error:  # a sentence naming the variable, not gunicorn's traceback of this file
    raise SystemExit(f"webhook: {error}") from None

bind = f"{_settings.bind_host}:{_settings.port}"
# One worker of 4 threads: a slow status page never delays a trigger (the threads). Each more worker costs about
# 39 MiB PSS (issue 13) and buys only the second or so gunicorn takes to replace a dead one, which the Action's
# retried POST (scripts/trigger_deploy.py: 3 attempts, 2 and 4 s apart) and the runner's poll of the origin cover.
# Deploy work runs in one background runner (the holder of a lease in the state database), not in the request
# threads.
workers = _settings.workers
worker_class = "gthread"
threads = 4
timeout = 30
graceful_timeout = 20
# Each worker builds its own app (and its own runner thread); preloading would start it in the master.
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = _settings.log_level
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}o)s'
proc_name = "webhook"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The default control socket lives in $HOME and would clash between two stacks on one machine.
control_socket_disable = True


def on_starting(server):
    """Not dumpable: another process of the same user (a DAG file imported for validation, say) cannot read
    this master's or its workers' /proc/<pid>/environ or memory, where the webhook's secrets are. Workers
    inherit it across fork. Root can still read them."""
    import ctypes

    pr_set_dumpable = 4
    ctypes.CDLL(None).prctl(pr_set_dumpable, 0, 0, 0, 0)
