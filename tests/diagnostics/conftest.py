"""The diagnostics app over a temporary folder, through Flask's test client."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from diagnostics.app import create_app
from diagnostics.settings import Settings


class BufferedClient(FlaskClient):
    """Reads each answer whole and closes it, so the files the app opened are closed before the test ends."""

    def open(self, *args, **kwargs):
        return super().open(*args, buffered=True, **kwargs)


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "diagnostics"


@pytest.fixture
def client(folder):
    app = create_app(Settings.from_env({"DIAGNOSTICS_DIR": str(folder)}))
    app.test_client_class = BufferedClient
    return app.test_client()
