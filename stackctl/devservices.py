"""Development stand-ins for internet services (1Password Connect, Slack, the NWS API): compose's `dev` profile.

They run only with ENVIRONMENT=development, so `up` works offline; production points at the real services.
Their programs come from docker-compose.yaml like the rest (stackctl/services.py).
"""

from __future__ import annotations

import json
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
