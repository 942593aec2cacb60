"""A diagnostics server on a free port over a temporary folder, stopped at teardown."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from diagnostics import server, settings

# The page tests render real pages with the DAG code, which imports as `weather_checker` from the dags folder.
DAGS = str(Path(__file__).resolve().parents[2] / "dags")
if DAGS not in sys.path:
    sys.path.insert(0, DAGS)


class Running:
    def __init__(self, folder: Path):
        self.folder = folder
        self.httpd = server.make_server(settings.Settings(host="127.0.0.1", port=0, folder=folder))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def diagnostics_server(tmp_path):
    running = Running(tmp_path / "diagnostics")
    running.thread.start()
    yield running
    running.stop()
