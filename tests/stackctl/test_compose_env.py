"""`python3 -m stackctl.compose_env`: a compose .env with fresh credentials, private, never overwritten."""

from __future__ import annotations

import stat

from stackctl import compose_env
from stackctl.settings import GENERATED_SECRETS, PROJECT_DIR, production_problem, read_env_file


def test_every_credential_is_filled_and_new_each_time(tmp_path):
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    assert compose_env.main(["--output", str(first)]) == 0
    assert compose_env.main(["--output", str(second)]) == 0
    a, b = read_env_file(first), read_env_file(second)
    for name in GENERATED_SECRETS:
        assert len(a[name]) >= 24 and a[name] != b[name], name
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    # strong enough for production once the development webhook key goes (production reads it from
    # 1Password), and every other line of the example kept
    assert "WEBHOOK_KEY" in production_problem({**a, "ENVIRONMENT": "production"})
    assert production_problem({**a, "ENVIRONMENT": "production", "WEBHOOK_KEY": ""}) is None
    example = read_env_file(PROJECT_DIR / ".env.example")
    assert {k: v for k, v in a.items() if k not in GENERATED_SECRETS} == example


def test_an_existing_file_is_never_overwritten(tmp_path, capsys):
    target = tmp_path / ".env"
    target.write_text("POSTGRES_PASSWORD=mine\n")
    assert compose_env.main(["--output", str(target)]) == 1
    assert target.read_text() == "POSTGRES_PASSWORD=mine\n"
    assert "exists" in capsys.readouterr().err
