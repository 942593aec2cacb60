"""HttpReadyTrigger against the fixture server: it waits through "not yet" and fires on 200 or a refusal."""

from __future__ import annotations

import asyncio
import threading

from dagtriggers.http_ready import HttpReadyTrigger
from devtools.fixture_server import FixtureServer


async def first_event(trigger: HttpReadyTrigger, timeout: float = 20):
    async def take():
        async for event in trigger.run():
            return event

    return await asyncio.wait_for(take(), timeout)


def test_it_waits_while_the_partner_has_not_published_and_fires_once_it_has():
    with FixtureServer() as fixtures:
        fixtures.set_scenario({"partner": "pending"})
        threading.Timer(1.5, fixtures.set_scenario, [{"partner": "ready"}]).start()
        trigger = HttpReadyTrigger(fixtures.url + "/partner/deliveries/2026-03-01", poke_interval=0.5)
        event = asyncio.run(first_event(trigger))
    assert event.payload["status"] == "ready"
    assert event.payload["body"]["date"] == "2026-03-01"


def test_an_answer_waiting_cannot_change_ends_the_wait_with_the_reason():
    with FixtureServer() as fixtures:
        trigger = HttpReadyTrigger(fixtures.url + "/partner/deliveries/2026-13-45", poke_interval=0.5)
        event = asyncio.run(first_event(trigger))
    assert event.payload["status"] == "error"
    assert "answered 400" in event.payload["message"] and "2026-13-45" in event.payload["message"]


def test_it_serializes_to_a_classpath_the_triggerer_can_import():
    classpath, kwargs = HttpReadyTrigger("http://x/y", 5).serialize()
    assert classpath == "dagtriggers.http_ready.HttpReadyTrigger"
    assert kwargs == {"url": "http://x/y", "poke_interval": 5}
