"""What the stack's small Flask apps (dashboard, diagnostics, webhook) share: a liveness blueprint, and serving the
dashboard and diagnostics under waitress in one process each (`python -m <app>`; the webhook runs under gunicorn)."""
