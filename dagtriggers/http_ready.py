"""HttpReadyTrigger: wait, in the triggerer, until a URL answers 200 (an outside system says "it is there")."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

NOT_YET = (404, 425)  # the event has not happened yet: keep waiting
TRANSIENT = (408, 429, 500, 502, 503, 504)  # the outside system is struggling: keep waiting, say so


class HttpReadyTrigger(BaseTrigger):
    """Poll `url` every `poke_interval` seconds; fire {"status": "ready", "body": ...} on 200, or
    {"status": "error", "message": ...} on an answer that will not change by waiting (401, 400, ...)."""

    def __init__(self, url: str, poke_interval: float = 30.0):
        super().__init__()
        self.url = url
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", {"url": self.url,
                                                                    "poke_interval": self.poke_interval}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import httpx

        async with httpx.AsyncClient(timeout=10, follow_redirects=True) as client:
            while True:
                try:
                    response = await client.get(self.url, headers={"Accept": "application/json"})
                except httpx.HTTPError as error:
                    self.log.warning("%s: %s; asking again in %g s", self.url, error, self.poke_interval)
                else:
                    if response.status_code == 200:
                        yield TriggerEvent({"status": "ready", "body": _body(response.text)})
                        return
                    if response.status_code not in NOT_YET + TRANSIENT:
                        yield TriggerEvent({"status": "error", "message": f"{self.url} answered "
                                            f"{response.status_code}: {response.text[:200]}"})
                        return
                    self.log.info("%s: %d, not yet; asking again in %g s", self.url, response.status_code,
                                  self.poke_interval)
                await asyncio.sleep(self.poke_interval)


def _body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text[:1000]
