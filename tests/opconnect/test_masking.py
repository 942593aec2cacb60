"""opconnect.masking: the values a process without Airflow redacts from what it sends."""

from __future__ import annotations

import pytest

from opconnect import masking


@pytest.fixture(autouse=True)
def empty():
    masking.reset()
    yield
    masking.reset()


def test_every_registered_value_is_replaced_the_longest_first():
    masking.mask("token-1234")
    masking.mask("token-1234-and-more")
    assert masking.redact("a token-1234-and-more b token-1234 c") == "a *** b *** c"


def test_short_values_and_the_products_name_are_not_secrets_as_in_airflows_masker():
    for value in ("abcd", "Airflow", ""):
        assert masking.mask(value) == value
    assert masking.redact("abcd Airflow") == "abcd Airflow"
