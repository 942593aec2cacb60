"""HttpReadySensor: wait for an outside event that an HTTP endpoint announces, deferred to the triggerer.

    wait = HttpReadySensor(task_id="wait_for_delivery", path="/partner/deliveries/{day}", poke_interval=60,
                           timeout=6 * 3600)

`path` is relative to PIPELINE_SOURCE_URL (dagutils.sources); `{day}` becomes the run's day (YYYY-MM-DD,
dagutils.run_day, also for manual runs without a logical date); Jinja works too. The sensor asks once
itself; if the answer is "not yet" (404), it hands the waiting to the triggerer (dagtriggers.http_ready) and
frees its worker slot.
Returns the endpoint's JSON body (to XCom). A refusal that waiting cannot fix (401, 400, ...) fails the task.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException


class HttpReadySensor(BaseOperator):
    """Succeed when GET PIPELINE_SOURCE_URL + path answers 200; wait in the triggerer until then."""

    template_fields: Sequence[str] = ("path",)
    ui_color = "#e8f7e4"

    def __init__(self, *, path: str, poke_interval: float = 60.0, timeout: float = 6 * 3600, **kwargs: Any):
        super().__init__(**kwargs)
        self.path = path
        self.poke_interval = poke_interval
        self.timeout = timeout

    def execute(self, context: Any) -> Any:
        from dagutils.run_day import run_day
        from dagutils.sources import source_url

        url = source_url(self.path.replace("{day}", run_day(context).isoformat()))
        answer = self._ask(url)
        if answer is not None:
            return answer
        from dagtriggers.http_ready import HttpReadyTrigger

        self.log.info("%s: not yet; deferring to the triggerer (every %.0f s, at most %.0f s)", url,
                      self.poke_interval, self.timeout)
        self.defer(trigger=HttpReadyTrigger(url, self.poke_interval), method_name="execute_complete",
                   timeout=timedelta(seconds=self.timeout))

    def _ask(self, url: str) -> Any:
        """The body if the event happened, None if not yet; raise if waiting cannot help."""
        import requests

        from dagtriggers.http_ready import NOT_YET, TRANSIENT

        try:
            response = requests.get(url, timeout=10, headers={"Accept": "application/json"})
        except requests.RequestException as error:
            self.log.warning("%s: %s; the triggerer will keep asking", url, error)
            return None
        if response.status_code == 200:
            return response.json()
        if response.status_code in NOT_YET + TRANSIENT:
            return None
        raise AirflowException(f"{url} answered {response.status_code}: {response.text[:200]}")

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if event.get("status") != "ready":
            raise AirflowException(event.get("message") or f"unexpected trigger event {event!r}")
        self.log.info("the outside event happened: %s", event.get("body"))
        return event.get("body")
