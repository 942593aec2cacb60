"""Missing system programs: installed as root on Debian, otherwise the exact command is printed."""

from __future__ import annotations

import pytest

from stackctl import system


def test_without_root_the_message_names_every_missing_package_and_the_command(monkeypatch):
    monkeypatch.setattr(system, "which", lambda program: None if program in ("redis-server", "haproxy") else "/x")
    monkeypatch.setattr(system.os, "geteuid", lambda: 1000)
    with pytest.raises(system.MissingSystemPackage) as error:
        system.ensure_packages()
    message = str(error.value)
    assert "redis-server, haproxy" in message
    assert "apt-get install -y redis-server haproxy" in message


def test_nothing_missing_installs_nothing(monkeypatch):
    monkeypatch.setattr(system, "which", lambda program: f"/usr/bin/{program}")
    monkeypatch.setattr(system.subprocess, "run", lambda *a, **k: pytest.fail("nothing should be installed"))
    system.ensure_packages()


def test_postgres_is_found_in_debians_versioned_folder():
    # `./stack test` installs postgresql first; Debian keeps the server off PATH
    assert system.which("postgres").startswith("/usr/lib/postgresql/")
