"""The Redis broker's configuration in the state folder."""

from __future__ import annotations

import os

from stackctl.settings import Settings


def write_config(settings: Settings) -> None:
    root = settings.state_dir / "redis"
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "redis.conf"
    conf.write_text("\n".join([
        f"bind {settings['BIND_HOST']}",
        f"port {settings['REDIS_PORT']}",
        "daemonize no",
        "protected-mode yes",
        f"dir {root}",
        "save 60 1",  # queued Celery messages survive a `down`/`up`
        "appendonly no",
        "loglevel notice",
        'logfile ""',
    ]) + "\n")
    os.chmod(conf, 0o600)
