"""Private origins: the deploy key from 1Password (or a file in development) against a real sshd, the pinned
known_hosts, the HTTPS token, and each way they can be wrong. A failure names the 1Password item and field, or
the file, never the secret, and publishes nothing."""

from __future__ import annotations

import json
import logging
import os
import shlex
import stat
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from devtools.fake_onepassword import FakeConnect
from devtools.onepassword_store import Store
from stacktest.gitrepo import good_dag
from tests.webhook.conftest import read_status, signed
from tests.webhook.ssh import keypair
from webhook import infra_vault, settings
from webhook.deploy.credentials import CredentialError, Credentials, transport
from webhook.deploy.history import History

INFRA_TOKEN = "deploy-credentials-test-token"
INFRA_VAULT = "airflowinfrastructurevault"
ITEM, FIELD = "Airflow Deploy Key", "private key"
TOKEN = "ghp_test-token-that-must-stay-secret-0123"
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def vault(monkeypatch):
    """`vault({title: {field: value}})` serves those items from the infrastructure vault of a fake Connect."""
    stack = ExitStack()
    infra_vault.clear_cache()

    def serve(items: dict[str, dict[str, str]]) -> FakeConnect:
        document = {"vaults": [{"id": INFRA_VAULT, "name": "Airflow Infrastructure", "items": [
            {"title": title, "fields": [{"label": label, "value": value, "type": "CONCEALED"}
                                        for label, value in fields.items()]}
            for title, fields in items.items()]}]}
        server = stack.enter_context(FakeConnect(Store(document), INFRA_TOKEN))
        monkeypatch.setenv("OP_CONNECT", server.url)
        monkeypatch.setenv("OP_INFRA_TOKEN", INFRA_TOKEN)
        monkeypatch.setenv("OP_INFRA_VAULT_ID", INFRA_VAULT)
        return server

    yield serve
    stack.close()
    infra_vault.clear_cache()


def pinned(sshd, tmp_path) -> Path:
    """A known_hosts file with the test server's host key, as DEPLOY_KNOWN_HOSTS would name."""
    path = tmp_path / "known_hosts"
    path.write_text(sshd.known_hosts_line)
    return path


def deploy(app, runner, commit: str) -> dict:
    client = app.test_client()
    response = client.post("/webhook", json={"commit": commit}, headers=signed(commit))
    assert response.status_code == 202
    runner.run_pending()
    return read_status(client, response.json["deploy_id"])


def leftovers() -> set[str]:
    """Credential folders present now (in /dev/shm, or the temp folder when there is none)."""
    found = set()
    for folder in (Path("/dev/shm"), Path(os.environ.get("TMPDIR", "/tmp"))):
        if folder.is_dir():
            found |= {str(p) for p in folder.glob("deploy-credentials-*")}
    return found


def everything_recorded(app, caplog) -> str:
    return json.dumps(list(History(app.extensions["state"]).deploys().values())) + caplog.text


def test_the_deploy_key_from_1password_fetches_over_ssh(sshd, vault, origin, make_app, make_runner, tmp_path,
                                                        caplog):
    caplog.set_level(logging.INFO, logger="webhook")
    key, public = keypair(tmp_path, "deploy_key")
    sshd.authorize(public)
    vault({ITEM: {FIELD: key.read_text()}})
    app = make_app(repo_url=sshd.url(origin.bare), known_hosts=pinned(sshd, tmp_path))
    runner = make_runner(app)
    before = leftovers()
    assert deploy(app, runner, origin.head())["state"] == "succeeded"
    second = origin.commit({"dags/second.py": good_dag("second")}, "Add second DAG")
    record = deploy(app, runner, second)
    assert record["state"] == "succeeded", record
    assert runner.ctx.mirror.deployed() == second
    assert runner.ctx.mirror.remote_tip() == second  # the fallback poll's ls-remote uses the key too
    assert leftovers() == before
    assert "PRIVATE KEY" not in everything_recorded(app, caplog)
    assert f"Accepted publickey for {sshd.user}" in sshd.log.read_text()


def test_a_wrong_key_fails_with_a_clear_reason_and_publishes_nothing(sshd, vault, origin, make_app, make_runner,
                                                                     tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="webhook")
    key, _ = keypair(tmp_path, "deploy_key")
    _, other = keypair(tmp_path, "another_key")
    sshd.authorize(other)
    vault({ITEM: {FIELD: key.read_text()}})
    app = make_app(repo_url=sshd.url(origin.bare), known_hosts=pinned(sshd, tmp_path))
    runner = make_runner(app)
    record = deploy(app, runner, origin.head())
    assert record["state"] == "failed"
    assert (f"the origin refused the deploy key from 1Password item '{ITEM}', field '{FIELD}'"
            in record["reason"])
    assert runner.ctx.mirror.deployed() is None
    assert "PRIVATE KEY" not in everything_recorded(app, caplog)


def test_an_unknown_host_key_fails_with_a_clear_reason_and_publishes_nothing(sshd, vault, origin, make_app,
                                                                             make_runner, tmp_path):
    key, public = keypair(tmp_path, "deploy_key")
    sshd.authorize(public)
    vault({ITEM: {FIELD: key.read_text()}})
    app = make_app(repo_url=sshd.url(origin.bare))  # the default: GitHub's keys only
    runner = make_runner(app)
    record = deploy(app, runner, origin.head())
    assert record["state"] == "failed"
    assert "the SSH host key of the origin is not in the pinned known_hosts file" in record["reason"]
    assert "known_hosts.github (DEPLOY_KNOWN_HOSTS)" in record["reason"]
    assert runner.ctx.mirror.deployed() is None
    assert f"Accepted publickey for {sshd.user}" not in sshd.log.read_text()


def test_a_key_file_works_in_development(sshd, origin, make_app, make_runner, tmp_path):
    key, public = keypair(tmp_path, "deploy_key")
    sshd.authorize(public)
    app = make_app(repo_url=sshd.url(origin.bare), known_hosts=pinned(sshd, tmp_path), deploy_key_file=key)
    assert deploy(app, make_runner(app), origin.head())["state"] == "succeeded"


def bad_input(case: str, tmp_path: Path, vault) -> tuple[dict, str, str]:
    """(settings overrides, what the reason must say, a secret it must not show) for one way of being wrong."""
    key, public = keypair(tmp_path, "deploy_key")
    secret = key.read_text()
    where = f"1Password item '{ITEM}', field '{FIELD}'"
    if case == "no item":
        vault({"Some Other Item": {FIELD: secret}})
        return {}, f"{where}: no item titled '{ITEM}'", secret
    if case == "no field":
        vault({ITEM: {"public key": public, "notes": secret}})
        return {}, f"{where}: item '{ITEM}' in vault", secret
    if case == "empty field":
        vault({ITEM: {FIELD: "  "}})
        return {}, f"{where} is empty", secret
    if case == "a public key":
        vault({ITEM: {FIELD: public}})
        return {}, f"the deploy key from {where} is not an unencrypted OpenSSH private key (invalid format)", public
    if case == "text that is no key":
        vault({ITEM: {FIELD: "hunter2-not-a-key"}})
        return {}, "is not an unencrypted OpenSSH private key (invalid format)", "hunter2-not-a-key"
    if case == "a key with a passphrase":
        locked, _ = keypair(tmp_path, "locked_key", passphrase="correct horse")
        vault({ITEM: {FIELD: locked.read_text()}})
        return {}, f"the deploy key from {where} is not an unencrypted OpenSSH private key (it is protected by a " \
                   "passphrase)", locked.read_text()
    if case == "no known_hosts file":
        vault({ITEM: {FIELD: secret}})
        missing = tmp_path / "no-such-known-hosts"
        return {"known_hosts": missing}, f"the pinned known_hosts file {missing} (DEPLOY_KNOWN_HOSTS) cannot be " \
                                         "read: No such file or directory", secret
    if case == "known_hosts is a folder":
        vault({ITEM: {FIELD: secret}})
        return {"known_hosts": tmp_path}, f"known_hosts file {tmp_path} (DEPLOY_KNOWN_HOSTS) cannot be read", secret
    if case == "known_hosts without keys":
        vault({ITEM: {FIELD: secret}})
        empty = tmp_path / "empty_known_hosts"
        empty.write_text("# nothing pinned\n")
        return {"known_hosts": empty}, f"known_hosts file {empty} (DEPLOY_KNOWN_HOSTS) has no host keys", secret
    if case == "no key file":
        missing = tmp_path / "no-such-key"
        return {"deploy_key_file": missing}, f"the deploy key file {missing} (DEPLOY_KEY_FILE) cannot be read", secret
    if case == "1Password not configured":
        return {}, f"{where}: OP_CONNECT, OP_INFRA_TOKEN, OP_INFRA_VAULT_ID are not set", secret
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["no item", "no field", "empty field", "a public key", "text that is no key",
                                  "a key with a passphrase", "no known_hosts file", "known_hosts is a folder",
                                  "known_hosts without keys", "no key file", "1Password not configured"])
def test_bad_credentials_fail_the_deploy_naming_their_source_never_the_secret(case, vault, origin, make_app,
                                                                              make_runner, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="webhook")
    overrides, expected, secret = bad_input(case, tmp_path, vault)
    # Never reached: the credentials are checked before git connects.
    app = make_app(**{"repo_url": "ssh://git@127.0.0.1:9/origin.git", "known_hosts": pinned_nowhere(tmp_path),
                      **overrides})
    runner = make_runner(app)
    before = leftovers()
    record = deploy(app, runner, origin.head())
    assert record["state"] == "failed" and record["retryable"] is True
    assert expected in record["reason"], record["reason"]
    assert secret.strip() not in everything_recorded(app, caplog)
    assert runner.ctx.mirror.deployed() is None
    assert leftovers() == before


def pinned_nowhere(tmp_path: Path) -> Path:
    path = tmp_path / "pinned_known_hosts"
    path.write_text("[127.0.0.1]:9 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    return path


@pytest.mark.parametrize(("url", "kind"), [
    ("git@github.com:city/dags.git", "ssh"),
    ("github.com:city/dags.git", "ssh"),
    ("ssh://git@github.com/city/dags.git", "ssh"),
    ("ssh://git@127.0.0.1:2222/srv/dags.git", "ssh"),
    ("https://github.com/city/dags.git", "https"),
    ("HTTPS://github.com/city/dags.git", "https"),
    ("http://git.internal/city/dags.git", "none"),  # never a token over plain http
    ("/srv/git/dags.git", "none"),
    ("./dags:old.git", "none"),
    ("file:///srv/git/dags.git", "none"),
])
def test_credentials_follow_the_url_transport(url, kind):
    assert transport(url) == kind


def test_the_key_lives_in_a_private_file_for_one_call_and_never_on_the_command_line(vault, tmp_path, app):
    key, _ = keypair(tmp_path, "deploy_key")
    vault({ITEM: {FIELD: key.read_text()}})
    cfg = settings.get(app)
    credentials = Credentials(cfg.__class__(**{**cfg.__dict__, "known_hosts": pinned_nowhere(tmp_path)}))
    with credentials.git_env("git@github.com:city/dags.git") as env:
        command = shlex.split(env["GIT_SSH_COMMAND"])
        used = Path(command[command.index("-i") + 1])
        assert stat.S_IMODE(used.stat().st_mode) == 0o600
        assert stat.S_IMODE(used.parent.stat().st_mode) == 0o700
        assert used.read_text() == key.read_text()
        assert "PRIVATE KEY" not in " ".join(env.values())
        for option in ("IdentitiesOnly=yes", "StrictHostKeyChecking=yes", "BatchMode=yes",
                       f'UserKnownHostsFile="{tmp_path / "pinned_known_hosts"}"'):
            assert option in command
    assert not used.exists() and not used.parent.exists()


def test_the_https_token_reaches_git_through_a_private_store_for_one_call(vault, app):
    vault({"Airflow Deploy Token": {"token": TOKEN}})
    credentials = Credentials(settings.get(app))
    with credentials.git_env("https://github.com/city/dags.git") as env:
        assert TOKEN not in " ".join(env.values())
        store = Path(shlex.split(env["GIT_CONFIG_VALUE_0"].removeprefix("store "))[0].removeprefix("--file="))
        assert stat.S_IMODE(store.stat().st_mode) == 0o600
        # what git itself would send to github.com
        answer = subprocess.run(["git", "credential", "fill"], input="protocol=https\nhost=github.com\n\n",
                                env={"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1",
                                     "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_TERMINAL_PROMPT": "0", **env},
                                capture_output=True, text=True, timeout=30)
        assert answer.returncode == 0, answer.stderr
        assert f"username=x-access-token\npassword={TOKEN}\n" in answer.stdout
    assert not store.exists() and not store.parent.exists()


def test_a_missing_token_names_its_item_and_field(vault, app):
    vault({})
    with pytest.raises(CredentialError, match="1Password item 'Airflow Deploy Token', field 'token'"):
        with Credentials(settings.get(app)).git_env("https://github.com/city/dags.git"):
            pass


def test_a_public_origin_needs_no_credentials(app):
    cfg = settings.get(app)
    public = Credentials(cfg.__class__(**{**cfg.__dict__, "deploy_credentials": "none"}))
    for url in ("https://github.com/city/dags.git", "git@github.com:city/dags.git"):
        with public.git_env(url) as env:
            assert env == {}


def test_the_check_command_reads_origin_with_the_credentials(sshd, origin, tmp_path):
    key, public = keypair(tmp_path, "deploy_key")
    sshd.authorize(public)
    env = {"PATH": os.environ["PATH"], "STACK_STATE_DIR": str(tmp_path / "state"),
           "DEPLOY_REPO_URL": sshd.url(origin.bare), "DEPLOY_KEY_FILE": str(key),
           "DEPLOY_KNOWN_HOSTS": str(pinned(sshd, tmp_path))}
    command = [sys.executable, "-m", "webhook.deploy.credentials"]
    result = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"production is at {origin.head()} (credentials: ssh)"
    env["DEPLOY_KNOWN_HOSTS"] = str(tmp_path / "missing")
    result = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"the pinned known_hosts file {tmp_path / 'missing'} (DEPLOY_KNOWN_HOSTS) cannot be read" in result.stderr
