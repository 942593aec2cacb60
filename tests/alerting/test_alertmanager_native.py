"""Natively, Alertmanager is derived from its compose service and reads the shipped route with this machine's
dashboard address (stackctl/alerting.py)."""

from __future__ import annotations

import subprocess

import yaml

from stackctl import alerting, services
from tests.stackctl.test_one_definition import settings_for


def test_the_native_alertmanager_posts_to_this_machines_dashboard(tmp_path):
    settings = settings_for(tmp_path, COMPOSE_PROFILES="monitoring")
    path = alerting.write_config(settings)
    [hook] = [hook for receiver in yaml.safe_load(path.read_text())["receivers"]
              for hook in receiver["webhook_configs"]]
    assert hook["url"] == f"http://{settings['DASHBOARD_HOST']}:{settings['DASHBOARD_PORT']}/hooks/alertmanager"
    assert path.stat().st_mode & 0o077 == 0
    check = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    program = services.load(settings).programs["alertmanager"]
    argv = " ".join(program.argv)
    assert program.argv[0].endswith("prometheus-alertmanager")
    assert f"--config.file {path} " in argv
    assert f"--storage.path {tmp_path / 'alertmanager'} " in argv
    assert f"--web.listen-address {settings['BIND_HOST']}:{settings['ALERTMANAGER_PORT']} " in argv
    assert "--web.route-prefix /alertmanager/" in argv


def test_without_the_monitoring_profile_there_is_no_alertmanager(tmp_path):
    stack = services.load(settings_for(tmp_path))
    assert "alertmanager" not in stack.programs and "monitoring" in stack.without["alertmanager"]
