"""Where the native stack keeps what the images keep inside themselves, and what every program inherits."""

from __future__ import annotations

from pathlib import Path

from stackctl.settings import Settings

# Variables every program inherits so it can find its tools and write its files.
PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")


def airflow_home(settings: Settings) -> Path:
    return settings.state_dir / "airflow"


def postgres_dirs(settings: Settings) -> tuple[Path, Path]:
    """(data directory, socket directory) of the private PostgreSQL cluster."""
    root = settings.state_dir / "postgres"
    return root / "data", root / "run"
