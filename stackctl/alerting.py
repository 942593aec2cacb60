"""Alertmanager natively: monitoring/alertmanager/alertmanager.yml with this machine's addresses.

Compose mounts the file as it is (its receiver is the dashboard at the compose name); natively `up` writes a copy
whose addresses are mapped like every compose value (stackctl/services.py), beside Prometheus' configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

from stackctl.settings import Settings

SOURCE = Path("monitoring") / "alertmanager" / "alertmanager.yml"  # in the checkout
CONTAINER_PATH = "/etc/alertmanager/alertmanager.yml"  # where the compose service reads it (docker-compose.yaml)


def config_path(settings: Settings) -> Path:
    from stackctl import monitoring

    return monitoring.folder(settings) / Path(CONTAINER_PATH).name


def write_config(settings: Settings) -> Path:
    """Write the native copy (the monitoring folder is private to the stack user) and return its path."""
    from stackctl import services  # services imports this module for its PATHS

    text = services.native_text(settings, "alertmanager", (settings.project_dir / SOURCE).read_text())
    path = config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return path
