"""`haproxy -c` accepts haproxy/haproxy.cfg with compose defaults and with a native environment."""

import os
import re

import pytest


def combined(result):
    return result.stdout + result.stderr


def test_valid_with_compose_defaults(haproxy_check):
    # Only the password is given; every address falls back to the compose service names.
    result = haproxy_check({"PATH": os.environ["PATH"], "FLOWER_PASSWORD": "x"})
    assert result.returncode == 0, combined(result)
    assert "Configuration file is valid" in combined(result)


def test_valid_without_warnings_with_native_env(haproxy_check, native_check_env):
    result = haproxy_check(native_check_env)
    assert result.returncode == 0, combined(result)
    assert "WARNING" not in combined(result) and "ALERT" not in combined(result)


def test_valid_with_tls_and_host_names(haproxy_check, native_check_env, self_signed_pem):
    env = {**native_check_env, "TLS_CERT_PATH": str(self_signed_pem),
           "AIRFLOW_HOSTNAME": "airflow.example.test", "FLOWER_HOSTNAME": "flower.example.test"}
    result = haproxy_check(env)
    assert result.returncode == 0, combined(result)
    assert "WARNING" not in combined(result)


def test_valid_without_warnings_with_worker_access(haproxy_check, native_check_env):
    env = {**native_check_env, "WORKER_ALLOWED_SOURCES": "10.20.0.0/16 192.0.2.15",
           "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "19010",
           "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "19011"}
    result = haproxy_check(env)
    assert result.returncode == 0, combined(result)
    assert "WARNING" not in combined(result)


def test_bad_worker_address_is_named(haproxy_check, native_check_env):
    result = haproxy_check({**native_check_env, "WORKER_ALLOWED_SOURCES": "10.20.0.0/16 worker-two"})
    assert result.returncode != 0
    assert "'worker-two' is not a valid IPv4 or IPv6 address" in combined(result)


def test_missing_certificate_is_named(haproxy_check, native_check_env, tmp_path):
    missing = tmp_path / "nowhere.pem"
    result = haproxy_check({**native_check_env, "TLS_CERT_PATH": str(missing)})
    assert result.returncode != 0
    assert str(missing) in combined(result)


def test_refuses_to_run_without_the_operator_password(haproxy_check, native_check_env):
    env = {key: val for key, val in native_check_env.items() if key != "FLOWER_PASSWORD"}
    result = haproxy_check(env)
    assert result.returncode != 0
    assert "FLOWER_PASSWORD is not set" in combined(result)


@pytest.mark.parametrize("password", ['with,comma', 'paren)s', 'dou"ble', "sin'gle", "do$llar", "two words"])
def test_any_password_characters_are_accepted(haproxy_check, native_check_env, password):
    result = haproxy_check({**native_check_env, "FLOWER_PASSWORD": password})
    assert result.returncode == 0, combined(result)


def settings(config_text):
    """The config without comments and blank lines."""
    return [line for line in config_text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def section(config_text, name):
    """Directive names of one section (e.g. "global")."""
    names, inside = set(), False
    for line in settings(config_text):
        if not line[0].isspace() and not line.startswith("."):
            inside = line.split()[0] == name
        elif inside and not line.lstrip().startswith("."):
            names.add(line.split()[0])
    return names


def test_uses_haproxy_default_syntax_not_the_shell_one(config_text):
    # "${VAR:-x}" is a parse error in HAProxy 2.6; "${VAR-x}" is the form that works.
    assert not [line for line in settings(config_text) if re.search(r"\$\{[A-Z_]+:-", line)]
    assert '"${AIRFLOW_API_HOST-airflow-apiserver}:${AIRFLOW_API_PORT-8080}"' in config_text


def test_runs_as_a_plain_foreground_process(config_text):
    # The native runner starts it as a normal user-owned process: nothing may chroot, drop privileges
    # or daemonise, and logs go to stdout.
    assert section(config_text, "global") >= {"log", "maxconn"}
    assert not section(config_text, "global") & {"chroot", "user", "group", "daemon", "pidfile", "uid", "gid"}
    assert "log stdout" in config_text


def test_health_checks_are_tuned(config_text):
    assert ("default-server init-addr last,libc,none resolvers docker resolve-prefer ipv4 "
            "inter 1s fastinter 250ms downinter 250ms rise 1 fall 2") in config_text
    for path in ("/api/v2/monitor/health", "/healthz", "/healthcheck"):
        assert f"http-check send meth GET uri {path}\n" in config_text
