"""Development stand-ins for internet services (1Password Connect, Slack), supervised like the rest.

They run only with ENVIRONMENT=development, so `up` works offline; production points at the real services.
"""

from __future__ import annotations

import os
import shutil

from stackctl.settings import Settings


def enabled(settings: Settings) -> bool:
    return not settings.production and (settings.project_dir / "devtools" / "fake_onepassword.py").exists()


def items_file(settings: Settings):
    return settings.state_dir / "onepassword-items.json"


def prepare_dev_files(settings: Settings) -> None:
    """Copy the committed example vault to a private file the first time (the copy may be edited freely)."""
    if not enabled(settings):
        return
    target = items_file(settings)
    if not target.exists():
        shutil.copyfile(settings.project_dir / "devtools" / "onepassword-items.example.json", target)
        target.chmod(0o600)


def fake_slack_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings['FAKE_SLACK_PORT']}"


def dev_programs(settings: Settings) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Extra supervised programs: name -> (argv, environment)."""
    if not enabled(settings):
        return {}
    python = settings.bin("python")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(settings.project_dir),
           "FAKE_SLACK_URL": fake_slack_url(settings)}
    return {
        "fake-onepassword": ([python, "-m", "devtools.fake_onepassword", "--items", str(items_file(settings)),
                              "--port", settings["FAKE_ONEPASSWORD_PORT"], "--token", settings["OP_API_TOKEN"]], env),
        "fake-slack": ([python, "-m", "devtools.fake_slack", "--port", settings["FAKE_SLACK_PORT"]], env),
        "fixture-server": ([python, "-m", "devtools.fixture_server", "--port", settings["FIXTURE_SERVER_PORT"]], env),
    }
