"""Fixtures for the fake servers' own tests."""

from tests.fake_servers import fake_connect, fake_slack  # noqa: F401
