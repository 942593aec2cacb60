"""What the stack's small Flask apps (dashboard, diagnostics, webhook) share: a liveness blueprint and running an
app under gunicorn in this process (`python -m <app>`)."""
