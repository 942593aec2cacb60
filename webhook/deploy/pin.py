"""A rollback pins the deployed commit: the fallback poll must not undo it until origin moves on."""

from __future__ import annotations

import json
import os
from pathlib import Path


class Pin:
    """pin.json in the deploy folder: {"commit", "origin_tip", "deploy_id"}."""

    def __init__(self, deploy_dir: Path):
        self.path = Path(deploy_dir) / "pin.json"

    def get(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def set(self, commit: str, origin_tip: str | None, deploy_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"commit": commit, "origin_tip": origin_tip, "deploy_id": deploy_id}))
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def blocks(self, origin_tip: str) -> bool:
        """True while origin still points where it did when the operator rolled back."""
        pin = self.get()
        return bool(pin) and pin.get("origin_tip") == origin_tip
