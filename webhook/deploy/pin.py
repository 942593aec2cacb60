"""A rollback pins the deployed commit: the fallback poll must not undo it until origin moves on."""

from __future__ import annotations

from webhook.deploy.state import Database


class Pin:
    """The fact "pin" in the state database: {"commit", "origin_tip", "deploy_id"}."""

    def __init__(self, db: Database):
        self.db = db

    def get(self) -> dict | None:
        return self.db.fact("pin")

    def set(self, commit: str, origin_tip: str | None, deploy_id: str) -> None:
        self.db.set_fact("pin", {"commit": commit, "origin_tip": origin_tip, "deploy_id": deploy_id})

    def clear(self) -> None:
        self.db.drop_fact("pin")

    def blocks(self, origin_tip: str) -> bool:
        """True while origin still points where it did when the operator rolled back."""
        pin = self.get()
        return bool(pin) and pin.get("origin_tip") == origin_tip
