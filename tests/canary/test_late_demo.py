"""The late-run demo's switch: which runs it makes late, and a typo named instead of read as 'off'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from canary import late_demo

START = datetime(2026, 3, 1, tzinfo=UTC)


def slots(count: int) -> list[datetime]:
    return [START + n * late_demo.SLOT for n in range(count)]


def test_off_by_default_and_never_late():
    assert late_demo.mode(None) == "off"
    assert not any(late_demo.is_late_run("off", due) for due in slots(50))


def test_on_makes_exactly_one_run_in_five_late_and_always_every_run():
    late = [due for due in slots(50) if late_demo.is_late_run("on", due)]
    assert len(late) == 10
    assert all(b - a == 5 * late_demo.SLOT for a, b in zip(late, late[1:], strict=False))
    assert all(late_demo.is_late_run("always", due) for due in slots(7))


def test_a_late_run_sleeps_until_after_its_deadline():
    assert late_demo.sleep_until(START, timedelta(minutes=3)) > START + timedelta(minutes=3)


@pytest.mark.parametrize("value", ["yes", "1", "true", "sometimes"])
def test_a_typo_is_an_error_naming_the_variable(value):
    with pytest.raises(ValueError, match=f"Variable canary_late_demo must be one of off, on, always, got '{value}'"):
        late_demo.mode(value)


@pytest.mark.parametrize("value", ["ON", " always ", "Off"])
def test_case_and_spaces_do_not_matter(value):
    assert late_demo.mode(value) == value.strip().lower()
