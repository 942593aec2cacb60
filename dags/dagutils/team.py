"""The team's time zone (TEAM_TIMEZONE), for schedules at a local hour and for times shown to people."""

from __future__ import annotations

import os

from stacksettings.variables import DEFAULT_TIMEZONE

__all__ = ["DEFAULT_TIMEZONE", "timezone_name"]


def timezone_name() -> str:
    """TEAM_TIMEZONE, or the default when it is unset or empty."""
    return os.environ.get("TEAM_TIMEZONE") or DEFAULT_TIMEZONE
