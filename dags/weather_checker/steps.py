"""The diagnostic's steps as plain functions (no Airflow): each returns a JSON-ready result with its check."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import requests

from weather_checker import annotate, camera, checks, nws, page, publish
from weather_checker.results import FAIL, PASS, WARN, check, failed, from_error
from weather_checker.session import make_session
from weather_checker.settings import WeatherSettings

SECRET_ITEM = "Diagnostic ETL (Weather)"
PROJECT_FILE = Path(__file__).resolve().parents[2] / "pyproject.toml"
LOCAL_FORMAT = "%m/%d/%Y %H:%M:%S %Z"


def forecast_step(settings: WeatherSettings, host: str, session: requests.Session | None = None) -> dict:
    """Fetch the forecast; a failure becomes a failed 'forecast' check saying what NWS did."""
    session = session or make_session(settings.user_agent)
    try:
        data = nws.fetch_forecast(session, settings.nws_base_url, settings.latitude, settings.longitude,
                                  settings.timeout)
    except Exception as error:  # StepFailed says what NWS did; anything else is an answer we did not expect
        return {"check": from_error("forecast", error), "forecast": None, "host": host}
    where = f"{data['place'] or 'unknown place'}, grid {data['grid']}"
    moved = f"; followed redirect to {data['point_url']}" if data["redirected"] else ""
    detail = f"{data['period']}: {data['short'] or data['text'][:80]} ({where}{moved})"
    return {"check": check("forecast", PASS, detail), "forecast": data, "host": host}


def camera_step(settings: WeatherSettings, key: str, host: str, session: requests.Session | None = None,
                now: datetime | None = None) -> dict:
    """Fetch, validate and annotate the snapshot, and write it as images/<run key>.jpg."""
    session = session or make_session(settings.user_agent)
    now = now or datetime.now(UTC)
    info = {"camera_id": settings.camera_id, "label": settings.camera_label, "url": settings.camera_url}
    try:
        snap = camera.fetch(session, settings.camera_url, settings.camera_id, settings.timeout)
        offline = camera.offline_reason(snap, settings.placeholder_digests, now)
        local = now.astimezone(settings.zone)
        jpeg = annotate.annotate(snap.data, settings.camera_label, local)
        image = f"{publish.IMAGES}/{key}.jpg"
        publish.atomic_write(settings.diagnostics_dir / image, jpeg)
    except Exception as error:  # also odd image modes and an unwritable DIAGNOSTICS_DIR
        return {"check": from_error("camera", error), "camera": info, "host": host}
    width, height = annotate.working_size(snap.width, snap.height)
    info.update(image=image, width=width, height=height, offline=offline, taken_at=now.isoformat(),
                taken_local=local.strftime(LOCAL_FORMAT), raw_size=f"{snap.width}x{snap.height}")
    size = f"{snap.width}x{snap.height} image ({len(snap.data)} bytes), annotated"
    if offline:
        return {"check": check("camera", WARN, f"camera {settings.camera_id}: {offline}"), "camera": info,
                "host": host}
    outcome = check("camera", PASS, f"camera {settings.camera_id}: {size}")
    return {"check": outcome, "camera": info, "host": host}


def secret_step(settings: WeatherSettings, get_secret: Callable[[str, str], str]) -> tuple[dict, str | None]:
    """Read the demonstration secret; the value goes on the page only, never into a result or a log line."""
    where = f"item {SECRET_ITEM!r}, field {settings.secret_field!r}"
    try:
        value = get_secret(SECRET_ITEM, settings.secret_field)
    except Exception as error:  # a missing item, field or vault must not stop the page
        return check("secret", FAIL, f"could not read {where}: {type(error).__name__}: {error}"), None
    if not isinstance(value, str) or not value:
        return check("secret", FAIL, f"{where} is empty"), None
    return check("secret", PASS, f"read {where} from 1Password"), value


def stack_step(settings: WeatherSettings, host: str, session: requests.Session | None = None,
               ping: Callable[[], dict | None] | None = None) -> dict:
    """Every stack check; a check that cannot run is a failed check, never an exception."""
    session = session or make_session(settings.user_agent, retries=0)
    try:
        found, info = checks.run_all(session, settings, host, ping)
    except Exception as error:  # a bug in one check must still leave a page to look at
        found, info = [from_error("stack checks", error)], {}
    return {"checks": found, "info": info, "host": host}


def project_version() -> str:
    """The version in pyproject.toml of the deployed tree (dags/ sits beside it), or '' if unreadable."""
    try:
        with open(PROJECT_FILE, "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return ""


def missing(name: str, task_id: str) -> dict:
    """The check for a task that finished without reporting (killed, timed out, or never ran)."""
    return check(name, FAIL, f"task {task_id} reported no result: it crashed, timed out or did not run",
                 task_failed=True)


def build_record(settings: WeatherSettings, *, dag_id: str, run_id: str, host: str, airflow_version: str,
                 forecast: dict, camera_result: dict, stack: dict, secret_check: dict,
                 now: datetime | None = None) -> dict:
    """The JSON record of one run (no secret in it): what the page, the history and latest.json show."""
    now = now or datetime.now(UTC)
    all_checks = [forecast["check"], camera_result["check"], secret_check, *stack["checks"]]
    info = stack.get("info") or {}
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "environment": settings.environment,
        "finished_at": now.isoformat(timespec="seconds"),
        "local_time": now.astimezone(settings.zone).strftime(LOCAL_FORMAT),
        "timezone": settings.timezone,
        "forecast": forecast.get("forecast"),
        "camera": camera_result.get("camera"),
        "checks": all_checks,
        "failed": failed(all_checks),
        "verdict": FAIL if failed(all_checks) else PASS,
        "stack_version": settings.stack_version or info.get("stack_version") or project_version(),
        "commit": info.get("commit", ""),
        "airflow_version": airflow_version,
        "host": host,
        "ran_on": {"forecast": forecast.get("host"), "camera": camera_result.get("host"),
                   "checks": stack.get("host"), "page": host},
    }


def summary(record: dict) -> dict:
    """The part of a run the history keeps."""
    camera_info = record.get("camera") or {}
    return {
        "run_id": record["run_id"],
        "finished_at": record["finished_at"],
        "local_time": record["local_time"],
        "failed": record["failed"],
        "forecast_short": (record.get("forecast") or {}).get("short", ""),
        "image": camera_info.get("image"),
    }


def publish_step(settings: WeatherSettings, record: dict, secret: str | None) -> list[dict]:
    """Write latest.json, history.json, the page and its assets; drop images the history forgot."""
    folder = settings.diagnostics_dir
    with publish.locked(folder):
        old = [h for h in publish.read_history(folder) if h.get("run_id") != record["run_id"]]
        history = [summary(record), *old][: settings.history_size]
        image = (record.get("camera") or {}).get("image")
        if image and not (folder / image).is_file():
            # The camera task ran on a worker that does not share DIAGNOSTICS_DIR with this one.
            record["camera"]["image"] = None
            lost = check("camera", FAIL, f"{image} was written by {record['ran_on']['camera']} but is "
                         f"missing on {record['host']}: DIAGNOSTICS_DIR must be shared by the workers")
            record["checks"] = [lost if c["name"] == "camera" else c for c in record["checks"]]
            record["failed"] = failed(record["checks"])
            record["verdict"] = FAIL
            history[0] = summary(record)
        publish.install_assets(folder)
        publish.write_json(folder / "latest.json", record)
        publish.write_json(folder / "history.json", history)
        publish.atomic_write(folder / "index.html", page.render(record, history, secret))
        publish.prune_images(folder, {h["image"] for h in history if h.get("image")})
    return history
