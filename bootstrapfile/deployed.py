"""The webhook's post-deploy step: apply the deployed commit's dags/bootstrap.yaml through Airflow's REST API.

The webhook holds Airflow's admin login, not its database login, so this goes through the API (RestStore).
Never raises: the deploy has succeeded already; what happened is returned for the deploy's record and logged.
"""

from __future__ import annotations

import logging

from bootstrapfile import RELATIVE_PATH
from bootstrapfile.apply import apply
from bootstrapfile.onepassword import field_reader
from bootstrapfile.spec import BootstrapFileError, parse
from bootstrapfile.stores import RestStore

log = logging.getLogger(__name__)


def apply_deployed(read_file, airflow, deploy_id: str = "") -> dict:
    """read_file(path) -> its text at the deployed commit ("" if absent); airflow: the webhook's AirflowClient."""
    try:
        text = read_file(RELATIVE_PATH)
        if not text:
            return {}
        # the client's one authenticated request (it logs in again when the token expired)
        report = apply(parse(text), RestStore(airflow._call), field_reader())
    except BootstrapFileError as error:
        log.warning("event=bootstrap_refused deploy=%s problem=%r", deploy_id, str(error))
        return {"bootstrap": {"refused": f"{RELATIVE_PATH} {error}"}}
    except Exception as error:  # Airflow or 1Password unreachable: the next deploy or `up` tries again
        log.warning("event=bootstrap_failed deploy=%s error=%r", deploy_id, f"{type(error).__name__}: {error}")
        return {"bootstrap": {"problems": [f"{type(error).__name__}: {error}"]}}
    for line in report.lines():
        log.info("event=bootstrap deploy=%s %s", deploy_id, line.removeprefix("bootstrap: "))
    outcome = {"bootstrap": {k: v for k, v in report.as_dict().items() if v}}
    if report.drift:  # for the public status page: which object and line, none of the values
        outcome["bootstrap_drift"] = [f"dags/bootstrap.yaml {line.split(':')[0]}" for line in report.drift]
    return outcome
