"""First-run credentials: generated once, private, and never overwriting what the operator set."""

from __future__ import annotations

import stat

from cryptography.fernet import Fernet

from stackctl import secrets_file
from stackctl.settings import GENERATED_SECRETS, read_env_file


def test_generates_every_secret_once_with_mode_0600(tmp_path):
    written = secrets_file.ensure(tmp_path, {"STACK_ENV_FILE": ""})
    assert sorted(written) == sorted(GENERATED_SECRETS)
    path = tmp_path / "secrets.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = read_env_file(path)
    Fernet(values["AIRFLOW__CORE__FERNET_KEY"].encode())  # a usable Fernet key
    assert len(values["AIRFLOW__API_AUTH__JWT_SECRET"]) == 64
    assert secrets_file.ensure(tmp_path, {"STACK_ENV_FILE": ""}) == []
    assert read_env_file(path) == values


def test_values_set_by_the_operator_are_not_generated(tmp_path):
    written = secrets_file.ensure(tmp_path, {"STACK_ENV_FILE": "", "POSTGRES_PASSWORD": "chosen-by-me"})
    assert "POSTGRES_PASSWORD" not in written
    assert "POSTGRES_PASSWORD" not in read_env_file(tmp_path / "secrets.env")
