"""The calendar day a run is for, from its context: what a daily pipeline reads, loads or exports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any


def run_day(context: Mapping[str, Any]) -> date:
    """The logical date's day (UTC); runs without a logical date (manual, Airflow 3) use the day they were due."""
    moment = context.get("logical_date") or context["dag_run"].run_after
    return moment.date()
