"""Relay test fixtures: the shared fake 1Password Connect server."""

from tests.fake_servers import connect_env, fake_connect, fake_slack  # noqa: F401 - fixtures
