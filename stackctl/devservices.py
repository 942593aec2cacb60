"""Development stand-ins for internet services (1Password Connect, Slack), supervised like the rest.

They run only with ENVIRONMENT=development, so `up` works offline; production points at the real services.
"""

from __future__ import annotations

import json
import os
import shutil

from stackctl.settings import Settings


def enabled(settings: Settings) -> bool:
    return not settings.production and (settings.project_dir / "devtools" / "fake_onepassword.py").exists()


def items_file(settings: Settings):
    return settings.state_dir / "onepassword-items.json"


def prepare_dev_files(settings: Settings) -> None:
    """Copy the committed example vaults to a private file the first time (the copy may be edited freely);
    a vault the example gained since (the infrastructure vault) is added to an older copy."""
    if not enabled(settings):
        return
    target = items_file(settings)
    example = settings.project_dir / "devtools" / "onepassword-items.example.json"
    if not target.exists():
        shutil.copyfile(example, target)
        target.chmod(0o600)
        return
    document = json.loads(target.read_text())
    have = {vault.get("id") for vault in document.get("vaults", [])}
    missing = [vault for vault in json.loads(example.read_text())["vaults"] if vault["id"] not in have]
    if missing:
        document["vaults"] = document.get("vaults", []) + missing
        target.write_text(json.dumps(document, indent=2) + "\n")


def fake_slack_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings['FAKE_SLACK_PORT']}"


def onepassword_tokens(settings: Settings) -> dict[str, str]:
    """The fake reads the two tokens, each for its own vault, from its environment (never its command line)."""
    names = ("OP_API_TOKEN", "OP_VAULT_ID", "OP_INFRA_TOKEN", "OP_INFRA_VAULT_ID")
    return {name: settings[name] for name in names if settings.get(name)}


def dev_programs(settings: Settings) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Extra supervised programs: name -> (argv, environment)."""
    if not enabled(settings):
        return {}
    python = settings.bin("python")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(settings.project_dir),
           "FAKE_SLACK_URL": fake_slack_url(settings)}
    return {
        "fake-onepassword": ([python, "-m", "devtools.fake_onepassword", "--items", str(items_file(settings)),
                              "--port", settings["FAKE_ONEPASSWORD_PORT"]],
                             {**env, **onepassword_tokens(settings)}),
        "fake-slack": ([python, "-m", "devtools.fake_slack", "--port", settings["FAKE_SLACK_PORT"]], env),
        "fixture-server": ([python, "-m", "devtools.fixture_server", "--port", settings["FIXTURE_SERVER_PORT"]], env),
    }
