"""The switchable demo of a missed deadline: a task that makes about one run in five late, as the course did.

The Airflow Variable `canary_late_demo` switches it: `off` (or unset, the default) never, `on` one run in five
(the runs whose 5-minute slot number is a multiple of 5, so which ones is predictable), `always` every run
(to see the alert now). A late run's task sleeps until LATE_BY after the run's deadline, so the deadline is
missed for real and the run still ends green.
"""

from __future__ import annotations

from datetime import datetime, timedelta

VARIABLE = "canary_late_demo"
MODES = ("off", "on", "always")
SLOT = timedelta(minutes=5)
LATE_BY = timedelta(seconds=20)


def mode(value: str | None) -> str:
    """The switch's value, checked: a typo is an error naming the Variable, not a silent 'off'."""
    chosen = (value or "off").strip().lower()
    if chosen not in MODES:
        raise ValueError(f"Variable {VARIABLE} must be one of {', '.join(MODES)}, got {value!r}")
    return chosen


def is_late_run(chosen: str, due: datetime) -> bool:
    """Whether this run is one the demo makes late."""
    if chosen == "always":
        return True
    return chosen == "on" and int(due.timestamp() // SLOT.total_seconds()) % 5 == 0


def sleep_until(due: datetime, deadline: timedelta) -> datetime:
    """When a late run's task may finish: LATE_BY after the deadline."""
    return due + deadline + LATE_BY
