"""Fixtures for the secrets backend tests: the fake Connect server and OP_* pointing at it."""

from tests.fake_servers import connect_env, fake_connect, fake_slack  # noqa: F401
