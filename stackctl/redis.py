"""The Redis broker's configuration in the state folder."""

from __future__ import annotations

import os

from stackctl.settings import Settings


def write_config(settings: Settings) -> None:
    root = settings.state_dir / "redis"
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)  # the RDB file holds queued task messages
    conf = root / "redis.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    conf.write_text("\n".join([
        f"bind {settings['BIND_HOST']}",
        f"port {settings['REDIS_PORT']}",
        # any local user can reach a loopback port: without the password Redis answers only NOAUTH
        f"requirepass {settings['REDIS_PASSWORD']}",
        "daemonize no",
        "protected-mode yes",
        f"dir {root}",
        "save 60 1",  # queued Celery messages survive a `down`/`up`
        "appendonly no",
        "loglevel notice",
        'logfile ""',
    ]) + "\n")
    os.chmod(conf, 0o600)
