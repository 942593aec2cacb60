"""The compose layer's engine: a Docker that cannot be had or cannot start is one clear line, never a hang."""

from __future__ import annotations

import time

import pytest

from tests.compose import engine
from tests.compose.engine import Engine, EngineUnavailable


def test_a_daemon_that_dies_at_start_is_one_line_with_its_reason(tmp_path, monkeypatch):
    fake = tmp_path / "dockerd"
    fake.write_text("#!/bin/sh\necho 'failed to start daemon: error initializing graphdriver: no space left'\n"
                    "exit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(engine, "client_ready", lambda: True)
    monkeypatch.setattr(engine, "engine_version", lambda: None)
    monkeypatch.setattr(engine.shutil, "which", lambda name: str(fake) if name == "dockerd" else None)
    monkeypatch.setattr(engine.os, "geteuid", lambda: 0)
    started = time.monotonic()
    with pytest.raises(EngineUnavailable) as caught:
        Engine(tmp_path / "dockerd.log", start_timeout=30).__enter__()
    assert time.monotonic() - started < 10, "a dead daemon is noticed at once, not after the timeout"
    message = str(caught.value)
    assert "\n" not in message
    assert "dockerd did not start" in message and "no space left" in message


def test_a_daemon_that_never_answers_times_out(tmp_path, monkeypatch):
    fake = tmp_path / "dockerd"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    monkeypatch.setattr(engine, "client_ready", lambda: True)
    monkeypatch.setattr(engine, "engine_version", lambda: None)
    monkeypatch.setattr(engine.shutil, "which", lambda name: str(fake) if name == "dockerd" else None)
    monkeypatch.setattr(engine.os, "geteuid", lambda: 0)
    with pytest.raises(EngineUnavailable, match="did not start within 2s"):
        Engine(tmp_path / "dockerd.log", start_timeout=2).__enter__()


def test_no_docker_and_no_root_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "client_ready", lambda: False)
    monkeypatch.setattr(engine.os, "geteuid", lambda: 1000)
    with pytest.raises(EngineUnavailable, match="install docker.io .Engine >= 25.*mmdebstrap"):
        Engine(tmp_path / "dockerd.log").__enter__()


def test_an_engine_older_than_25_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "client_ready", lambda: True)
    monkeypatch.setattr(engine, "engine_version", lambda: (20, 10))
    with pytest.raises(EngineUnavailable, match="older than 25.0"):
        Engine(tmp_path / "dockerd.log").__enter__()
